// Runs TypeScript sources directly (no build step) with SWC, honouring tsconfig's decorator metadata.
// Used by the CLI, the services, the benchmarks and the test fixtures that spawn processes.
const path = require('node:path');
process.env.SWC_NODE_PROJECT = process.env.SWC_NODE_PROJECT || path.join(__dirname, '..', 'tsconfig.base.json');
require('@swc-node/register');
