export { Federation, type FederationOptions } from './federation';
export { startTestFederation, type TestFederation } from './test-federation';
