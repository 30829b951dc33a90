import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fedledger } from './run-cli';

let tmp: string;
let ids: string;
let ledgerDir: string;
const file = (name: string, content: unknown) => {
  const full = path.join(tmp, name);
  writeFileSync(full, typeof content === 'string' ? content : JSON.stringify(content));
  return full;
};
/** The binary against this test's identity and ledger folders. */
const cli = (...args: string[]) => fedledger([...args, '--identity-dir', ids, '--ledger-dir', ledgerDir]);
const inAYear = (years: number) => new Date(Date.now() + years * 365 * 24 * 3600 * 1000).toISOString();

const passport = {
  id: 'p-17',
  description: 'Breast density classifier trained across the OPTIMAM and INbreast centres',
  model: { name: 'density-net', version: '1.0.0', architecture: 'ResNet-18', task: 'density grading', modality: 'MG', framework: 'tfjs 4.22', licence: 'Apache-2.0' },
  intendedUse: { primaryUses: ['density triage'], primaryUsers: ['radiologists'] },
  trainingType: 'FEDERATED',
  datasets: [{ datasetId: 'ds-inbreast', role: 'train', centre: 'inbreast' }],
  aggregators: ['UBMSP/agg-1'],
};

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'fedledger-passport-cli-'));
  ids = path.join(tmp, 'identities');
  ledgerDir = path.join(tmp, 'ledger');
  expect(await fedledger(['identity', 'init', '--dir', ids])).toMatchObject({ code: 0 });
  for (const [org, user, role] of [['ub', 'dev-1', 'developer'], ['inbreast', 'dev-2', 'developer'], ['inbreast', 'centre-1', 'centre']]) {
    expect(await fedledger(['identity', 'add', '--dir', ids, '--org', org, '--user', user, '--role', role])).toMatchObject({ code: 0 });
  }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('fedledger passport and dataset on the local ledger', () => {
  it('says to run identity init when there are no identities', async () => {
    const run = await fedledger(['passport', 'show', 'p-1', '--identity-dir', path.join(tmp, 'none'), '--ledger-dir', path.join(tmp, 'nowhere')]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`fedledger passport: no organisations in ${path.join(tmp, 'none')}: run \`fedledger identity init\` first`);
  });

  it('creates a passport as ub/dev-1 and shows it', async () => {
    const created = await cli('passport', 'create', '--as', 'ub/dev-1', '--file', file('passport.json', passport), '--json');
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(created.stdout)).toMatchObject({ id: 'p-17', version: 1, status: 'DRAFT', owner: { mspId: 'UBMSP', commonName: 'dev-1' } });

    const shown = await cli('passport', 'show', 'p-17', '--json');
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ passport: { id: 'p-17', version: 1, artifactDigest: null }, rounds: [], roundChainIntact: true });
    const text = await cli('passport', 'show', 'p-17');
    expect(text.stdout).toContain('passport p-17 v1 DRAFT, owner UBMSP/dev-1: density-net 1.0.0');
  });

  it('refuses an update by another organisation with the owner reason, then lets the owner update', async () => {
    const changes = file('changes.json', { description: 'Breast density classifier, recalibrated on INbreast' });
    const refused = await cli('passport', 'update', 'p-17', '--as', 'inbreast/dev-2', '--expected-version', '1', '--file', changes);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr.trim()).toBe('fedledger passport: passport p-17 is owned by UBMSP/dev-1, caller is InbreastMSP/dev-2');

    const stale = await cli('passport', 'update', 'p-17', '--as', 'ub/dev-1', '--expected-version', '2', '--file', changes);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('passport p-17 is at version 1, not the expected version 2');

    const updated = await cli('passport', 'update', 'p-17', '--as', 'ub/dev-1', '--expected-version', '1', '--file', changes, '--json');
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ version: 2, description: 'Breast density classifier, recalibrated on INbreast' });

    const history = await cli('passport', 'history', 'p-17', '--json');
    expect(history.code).toBe(0);
    const versions = (JSON.parse(history.stdout) as { versions: { value: { version: number } }[] }).versions;
    expect(versions.map((v) => v.value.version)).toEqual([1, 2]);
  });

  it('keeps a block chain that fedledger ledger verify passes', async () => {
    const verified = await fedledger(['ledger', 'verify', '--ledger-dir', ledgerDir, '--json']);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, blocks: 2 });
  });

  it('records the model file digest and verifies a file against it', async () => {
    const model = file('model.bin', 'the released weights');
    const other = file('other.bin', 'some other weights');
    const unrecorded = await cli('passport', 'verify', 'p-17', model);
    expect(unrecorded.code).toBe(1);
    expect(unrecorded.stdout).toContain('passport p-17 has no artefact recorded');

    const recorded = await cli('passport', 'artifact', 'p-17', model, '--as', 'ub/dev-1', '--json');
    expect(recorded.code).toBe(0);
    expect(JSON.parse(recorded.stdout)).toMatchObject({ version: 3, artifactDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });

    const ok = await cli('passport', 'verify', 'p-17', model);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`matches the artefact of passport p-17 (v3)`);
    const bad = await cli('passport', 'verify', 'p-17', other);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('does NOT match the artefact of passport p-17');
  });

  it('registers a dataset as a centre user, grants the passport and checks the grant live, then revokes it', async () => {
    const dataset = {
      id: 'ds-inbreast',
      description: 'INbreast full-field digital mammograms',
      modality: 'MG',
      size: 410,
      usagePolicy: { allowedPurposes: ['training'], allowedOrganisations: ['UBMSP'], expiresAt: inAYear(2) },
    };
    const byDeveloper = await cli('dataset', 'register', '--as', 'inbreast/dev-2', '--file', file('dataset.json', dataset));
    expect(byDeveloper.code).toBe(1);
    expect(byDeveloper.stderr).toContain('fedledger dataset: registering a dataset needs role centre');

    const registered = await cli('dataset', 'register', '--as', 'inbreast/centre-1', '--file', file('dataset.json', dataset), '--json');
    expect(registered.code).toBe(0);
    expect(JSON.parse(registered.stdout)).toMatchObject({ id: 'ds-inbreast', owner: { mspId: 'InbreastMSP', commonName: 'centre-1' } });

    const before = await cli('dataset', 'check', 'ds-inbreast', '--passport', 'p-17');
    expect(before.code).toBe(1);
    expect(before.stdout).toContain('not live, dataset ds-inbreast has no grant for p-17');

    const grant = ['dataset', 'grant', 'ds-inbreast', '--passport', 'p-17', '--purpose', 'training', '--expires', inAYear(1)];
    const notOwner = await cli(...grant, '--as', 'ub/dev-1');
    expect(notOwner.code).toBe(1);
    expect(notOwner.stderr.trim()).toBe('fedledger dataset: dataset ds-inbreast is owned by InbreastMSP/centre-1, caller is UBMSP/dev-1');
    const granted = await cli(...grant, '--as', 'inbreast/centre-1', '--json');
    expect(granted.code).toBe(0);
    expect(JSON.parse(granted.stdout)).toMatchObject({ subject: 'p-17', organisation: 'UBMSP', purpose: 'training', status: 'GRANTED' });

    const live = await cli('dataset', 'check', 'ds-inbreast', '--passport', 'p-17', '--purpose', 'training', '--json');
    expect(live.code).toBe(0);
    expect(JSON.parse(live.stdout)).toMatchObject({ live: true });

    expect(await cli('dataset', 'revoke', 'ds-inbreast', '--passport', 'p-17', '--as', 'inbreast/centre-1')).toMatchObject({ code: 0 });
    const revoked = await cli('dataset', 'check', 'ds-inbreast', '--passport', 'p-17');
    expect(revoked.code).toBe(1);
    expect(revoked.stdout).toContain('not live, the grant was revoked');
  });
});
