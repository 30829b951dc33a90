// fabric-shim's contract bootstrap requires the package.json "main" of --module-path and uses its
// `contracts` export. This entry registers SWC (scripts/register.js, the repo's TS runner) and re-exports
// the TypeScript chaincode, so no build step is needed.
const path = require('node:path');

const repo = path.resolve(__dirname, '..', '..', '..');
require(path.join(repo, 'scripts', 'register.js'));
module.exports = require(path.join(repo, 'chaincode', 'ai-passport', 'src', 'index.ts'));
