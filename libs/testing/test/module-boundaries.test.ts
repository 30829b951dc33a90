import * as path from 'node:path';
import { ESLint, type Linter } from 'eslint';

/**
 * Pins the architecture rules of eslint.config.js by linting virtual files (nothing is written to disk):
 * the boundary rule locates a file's project by its path, so a path inside a project is all it needs.
 */
const repoRoot = path.resolve(__dirname, '..', '..', '..');
const RULE = '@nx/enforce-module-boundaries';

// Lint must not depend on a running Nx daemon; eslint.config.js computes the project graph itself.
process.env.NX_DAEMON = 'false';

describe('module boundaries (eslint.config.js)', () => {
  let eslint: ESLint;

  beforeAll(() => {
    // The repo's real config, passed as an object: ESLint's own config-file loading uses a dynamic
    // import(), which jest's CommonJS sandbox cannot run.
    const config = jest.requireActual<Linter.Config[]>(path.join(repoRoot, 'eslint.config.js'));
    eslint = new ESLint({ cwd: repoRoot, overrideConfigFile: true, overrideConfig: config });
  });

  async function lint(filePath: string, code: string): Promise<Linter.LintMessage[]> {
    const [result] = await eslint.lintText(code, { filePath: path.join(repoRoot, filePath) });
    return result.messages;
  }
  const boundaryErrors = async (filePath: string, code: string) =>
    (await lint(filePath, code)).filter((m) => m.ruleId === RULE && m.severity === 2).map((m) => m.message);

  it('refuses a service importing another service', async () => {
    const errors = await boundaryErrors(
      'services/aggregator/src/x.ts',
      "import { RoundCoordinatorModule } from '@fedledger/round-coordinator';\nexport const m = RoundCoordinatorModule;\n",
    );
    expect(errors).toHaveLength(1);
  });

  it('refuses a service reaching into another service by relative path', async () => {
    const errors = await boundaryErrors(
      'services/aggregator/src/x.ts',
      "import { start } from '../../round-coordinator/src/main';\nexport const s = start;\n",
    );
    expect(errors).toHaveLength(1);
  });

  it('refuses a framework import in fl-core', async () => {
    const errors = await boundaryErrors(
      'libs/fl-core/src/x.ts',
      "import { Injectable } from '@nestjs/common';\nexport const i = Injectable;\n",
    );
    expect(errors).toEqual([expect.stringContaining('not allowed to import "@nestjs/common"')]);
  });

  it('refuses fl-core depending on a non-core lib', async () => {
    const errors = await boundaryErrors('libs/fl-core/src/x.ts', "import { loadConfig } from '@fedledger/config';\nexport const l = loadConfig;\n");
    expect(errors).toEqual([expect.stringContaining('can only depend on libs tagged with "type:core"')]);
  });

  it('allows a service to import fl-core', async () => {
    const errors = await boundaryErrors(
      'services/aggregator/src/x.ts',
      "import { encodeWeights } from '@fedledger/fl-core';\nexport const e = encodeWeights;\n",
    );
    expect(errors).toEqual([]);
  });

  it('allows contracts to use protobufjs and Node built-ins', async () => {
    const errors = await boundaryErrors(
      'libs/contracts/src/x.ts',
      "import * as $protobuf from 'protobufjs/minimal';\nimport { createHash } from 'node:crypto';\nexport const p = [$protobuf, createHash];\n",
    );
    expect(errors).toEqual([]);
  });

  it('keeps the testing fixtures out of production code but lets tests use them', async () => {
    const code = "import { startNats } from '@fedledger/testing';\nexport const s = startNats;\n";
    expect(await boundaryErrors('services/aggregator/src/x.ts', code)).toHaveLength(1);
    expect(await boundaryErrors('libs/messaging/src/x.ts', code)).toHaveLength(1);
    expect(await boundaryErrors('services/aggregator/test/x.test.ts', code)).toEqual([]);
  });

  it('lets the cli open the ledger host but not import the chaincode itself', async () => {
    const host = "import { openLocalLedger } from '@fedledger/ledger-host';\nexport const o = openLocalLedger;\n";
    const chaincode = "import { contracts } from '@fedledger/ai-passport-chaincode';\nexport const c = contracts;\n";
    expect(await boundaryErrors('cli/src/x.ts', host)).toEqual([]);
    expect(await boundaryErrors('cli/src/x.ts', chaincode)).toEqual([expect.stringContaining('scope:cli')]);
    expect(await boundaryErrors('libs/ledger-host/src/x.ts', chaincode)).toEqual([]);
    expect(await boundaryErrors('libs/ledger/src/x.ts', host)).toHaveLength(1);
  });

  it('refuses explicit any', async () => {
    const messages = await lint('libs/config/src/x.ts', 'export const x: any = 1;\n');
    expect(messages.map((m) => m.ruleId)).toEqual(['@typescript-eslint/no-explicit-any']);
  });
});
