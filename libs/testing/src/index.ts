export { startNats, type NatsFixture } from './nats';
export { startFerret, type FerretFixture } from './ferretdb';
export { serviceStartupTest, spawnService, type ServiceProcess, type ServiceStartupExpectations } from './service-process';
export { datasetFixture, grantFixture, passportFixture, type PassportFixture } from './ledger-fixtures';
