export { startNats, type NatsFixture } from './nats';
export { startFerret, type FerretFixture } from './ferretdb';
