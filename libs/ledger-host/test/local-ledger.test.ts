import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addIdentity, initOrganisations } from '@fedledger/identity';
import { LedgerHostError, openLocalLedger } from '../src';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'fedledger-ledger-host-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('openLocalLedger', () => {
  it('names the identity folder and the command to run when there are no identities', () => {
    const identityDir = path.join(tmp, 'none');
    expect(() => openLocalLedger({ ledgerDir: path.join(tmp, 'ledger-none'), identityDir })).toThrow(LedgerHostError);
    expect(() => openLocalLedger({ ledgerDir: path.join(tmp, 'ledger-none'), identityDir })).toThrow(
      `no organisations in ${identityDir}: run \`fedledger identity init\` first`,
    );
  });

  it('runs the ai-passport chaincode for the organisations of the identity folder', async () => {
    const identityDir = path.join(tmp, 'ids');
    await initOrganisations(identityDir);
    const dev = await addIdentity(identityDir, { org: 'ub', user: 'dev-1', role: 'developer' });
    const ledger = openLocalLedger({ ledgerDir: path.join(tmp, 'ledger'), identityDir });
    try {
      const me = JSON.parse(await ledger.evaluate(dev, 'passport:WhoAmI', [])) as Record<string, unknown>;
      expect(me).toMatchObject({ mspId: 'UBMSP', role: 'developer' });
    } finally {
      await ledger.close();
    }
  });
});
