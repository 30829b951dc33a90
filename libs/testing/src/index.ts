export { startNats, type NatsFixture } from './nats';
export { startFerret, type FerretFixture } from './ferretdb';
export { spawnService, type ServiceProcess } from './service-process';
