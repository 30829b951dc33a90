import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// The embedded ledger (libs/ledger) takes the contract classes as an argument; it is tested here, in the one project
// allowed to load the chaincode in-process, with the real ai-passport contracts.
import { contracts } from '@fedledger/ai-passport-chaincode';
import { addIdentity, initOrganisations, type Identity } from '@fedledger/identity';
import { BLOCK_FILE, EmbeddedLedger, LedgerBusyError, mspDirectoryOf, signProposal, verify, WRITER_LOCK, type ChaincodeEvent, type MspDirectory } from '@fedledger/ledger';
import { spawnSync } from 'node:child_process';

let root: string;
let foreignRoot: string;
let msps: MspDirectory;
let dev: Identity;
let otherDev: Identity;
let foreignDev: Identity;
let dir: string;
let ledger: EmbeddedLedger;

const passportInput = (id: string) => ({
  id,
  description: 'Lung nodule classifier trained across three hospitals',
  model: { name: 'nodule-net', version: '1.0.0', architecture: 'ResNet-18', task: 'binary classification', modality: 'CT', framework: 'tfjs 4.22', licence: 'Apache-2.0' },
  intendedUse: { primaryUses: ['triage of CT nodules'], primaryUsers: ['radiologists'], outOfScopeUses: ['paediatrics'] },
  trainingType: 'FEDERATED',
  datasets: [{ datasetId: 'ds-hcl', role: 'train', centre: 'HCL' }],
  aggregators: ['UBMSP/agg-1'],
});
const open = (holder?: string) => new EmbeddedLedger({ dir, contracts, msps, ...(holder ? { holder } : {}) });
const create = (id: string, who: Identity = dev) => ledger.submit(who, 'passport:Create', [JSON.stringify(passportInput(id))]);
const update = (id: string, version: number, description: string, who: Identity = dev) =>
  ledger.submit(who, 'passport:Update', [id, String(version), JSON.stringify({ description })]);

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-ledger-ids-'));
  foreignRoot = mkdtempSync(path.join(os.tmpdir(), 'fedledger-ledger-foreign-'));
  await initOrganisations(root);
  await initOrganisations(foreignRoot, [{ id: 'ub', mspId: 'UBMSP', domain: 'ub.fedledger.local' }]);
  dev = await addIdentity(root, { org: 'ub', user: 'dev-1', role: 'developer' });
  otherDev = await addIdentity(root, { org: 'inbreast', user: 'dev-2', role: 'developer' });
  foreignDev = await addIdentity(foreignRoot, { org: 'ub', user: 'dev-1', role: 'developer' });
  msps = mspDirectoryOf(root);
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(foreignRoot, { recursive: true, force: true });
});
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-ledger-'));
  ledger = open();
});
afterEach(async () => {
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('EmbeddedLedger', () => {
  it('creates and reads a passport as a developer, through the public transaction names', async () => {
    const created = await create('p-1');
    expect(created.blockNumber).toBe(0);
    expect(created.txId).toMatch(/^[0-9a-f]{64}$/);
    const passport = JSON.parse(created.result) as Record<string, unknown>;
    expect(passport).toMatchObject({ id: 'p-1', version: 1, status: 'DRAFT', createdTxId: created.txId, owner: { mspId: 'UBMSP', commonName: 'dev-1' } });
    expect(JSON.parse(await ledger.evaluate(otherDev, 'passport:Read', ['p-1']))).toEqual(passport);
    expect(ledger.height).toBe(1);
  });

  it('refuses an update by a user of another organisation with the chaincode reason, and orders nothing', async () => {
    await create('p-1');
    await expect(update('p-1', 1, 'taken over', otherDev)).rejects.toThrow('passport p-1 is owned by UBMSP/dev-1, caller is InbreastMSP/dev-2');
    await expect(ledger.submit(dev, 'passport:Nope', [])).rejects.toThrow(/Nope/);
    expect(ledger.height).toBe(1);
  });

  it('lets one of two concurrent updates of a passport commit and marks the other MVCC_READ_CONFLICT', async () => {
    await create('p-1');
    const first = await ledger.endorse(signProposal(dev, 'passport:Update', ['p-1', '1', JSON.stringify({ description: 'first change' })]));
    const second = await ledger.endorse(signProposal(dev, 'passport:Update', ['p-1', '1', JSON.stringify({ description: 'second change' })]));
    await expect(ledger.commit(first)).resolves.toMatchObject({ blockNumber: 1 });
    await expect(ledger.commit(second)).rejects.toMatchObject({ code: 'MVCC_READ_CONFLICT', message: expect.stringContaining('MVCC_READ_CONFLICT') });
    const blocks = ledger.getBlocks();
    expect(blocks.map((b) => b.transactions[0].validationCode)).toEqual(['VALID', 'VALID', 'MVCC_READ_CONFLICT']);
    expect(JSON.parse(await ledger.evaluate(dev, 'passport:Read', ['p-1']))).toMatchObject({ version: 2, description: 'first change' });
    await expect(ledger.commit(first)).rejects.toThrow(/already on the ledger/);
  });

  it('refuses unsigned, tampered and foreign-CA proposals with a plain reason', async () => {
    const signed = signProposal(dev, 'passport:Create', [JSON.stringify(passportInput('p-1'))]);
    await expect(ledger.endorse({ ...signed, signature: '' })).rejects.toThrow('proposal refused: it is not signed');
    const tampered = { ...signed, proposal: { ...signed.proposal, args: [JSON.stringify(passportInput('p-2'))] } };
    await expect(ledger.endorse(tampered)).rejects.toThrow('proposal refused: the signature does not match the proposal and the creator certificate');
    await expect(create('p-1', foreignDev)).rejects.toThrow('proposal refused: the creator certificate is not issued by a CA of MSP UBMSP');
    await expect(create('p-1', { ...dev, mspId: 'EvilMSP' })).rejects.toThrow('proposal refused: MSP EvilMSP is not a member of this ledger');
    expect(ledger.height).toBe(0);
  });

  it('rebuilds state, key history and paginated composite-key queries from the block file after a restart', async () => {
    await create('p-1');
    await create('p-2');
    await create('p-3');
    await update('p-1', 1, 'second description');
    await ledger.close();
    ledger = open();
    expect(ledger.height).toBe(4);
    const history = JSON.parse(await ledger.evaluate(dev, 'passport:History', ['p-1'])) as Array<Record<string, unknown>>;
    expect(history.length).toBe(2);
    expect(JSON.stringify(history)).toContain('second description');
    const page1 = JSON.parse(await ledger.evaluate(dev, 'passport:QueryByOwner', ['UBMSP', '', '2', ''])) as { records: Array<{ id: string }>; bookmark: string };
    expect(page1.records.map((r) => r.id)).toEqual(['p-1', 'p-2']);
    expect(page1.bookmark).not.toBe('');
    const page2 = JSON.parse(await ledger.evaluate(dev, 'passport:QueryByOwner', ['UBMSP', '', '2', page1.bookmark])) as { records: Array<{ id: string }>; bookmark: string };
    expect(page2.records.map((r) => r.id)).toEqual(['p-3']);
    expect(page2.bookmark).toBe('');
    await expect(update('p-1', 2, 'third description')).resolves.toMatchObject({ blockNumber: 4 });
  });

  it('delivers chaincode events and resumes from a checkpoint', async () => {
    for (const id of ['p-1', 'p-2', 'p-3']) await create(id);
    await update('p-1', 1, 'changed');
    const take = async (n: number, from?: ChaincodeEvent['checkpoint']) => {
      const got: ChaincodeEvent[] = [];
      for await (const event of ledger.events(from)) {
        got.push(event);
        if (got.length === n) break;
      }
      return got;
    };
    const first = await take(2);
    expect(first.map((e) => [e.blockNumber, e.eventName])).toEqual([[0, 'PassportCreated'], [1, 'PassportCreated']]);
    expect(JSON.parse(first[1].payload)).toMatchObject({ id: 'p-2', txId: first[1].txId });
    const resumed = await take(2, first[1].checkpoint);
    expect(resumed.map((e) => [e.blockNumber, e.eventName])).toEqual([[2, 'PassportCreated'], [3, 'PassportUpdated']]);
    // A live reader gets a later commit.
    const live = take(1, resumed[1].checkpoint);
    await create('p-4');
    expect((await live).map((e) => [e.blockNumber, JSON.parse(e.payload).id])).toEqual([[4, 'p-4']]);
  });

  it('lets one writer at a time append, and the next one catch up with what the first wrote', async () => {
    ledger = open('passport-registry');
    await create('p-1');
    const second = open('fedledger cli');
    try {
      // A reader needs no lock: it sees what was committed when it opened.
      expect(JSON.parse(await second.evaluate(dev, 'passport:Read', ['p-1'])).id).toBe('p-1');
      const refused = await second.submit(dev, 'passport:Create', [JSON.stringify(passportInput('p-2'))]).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(LedgerBusyError);
      expect((refused as Error).message).toBe(`the ledger in ${dir} is being written by passport-registry (pid ${process.pid}); send the transaction through it, or stop it first`);
      await update('p-1', 1, 'changed by the first writer');
      await ledger.close();
      // The first writer is gone: the second takes the lock, applies block 1 and then validates against it.
      await expect(second.submit(dev, 'passport:Update', ['p-1', '2', JSON.stringify({ description: 'by the second' })])).resolves.toMatchObject({ blockNumber: 2 });
      expect(second.height).toBe(3);
      expect(verify(dir)).toEqual({ ok: true, blocks: 3 });
    } finally {
      await second.close();
    }
    // A lock left by a process that no longer exists is taken over.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(path.join(dir, WRITER_LOCK), JSON.stringify({ pid: Number(dead.stdout), holder: 'a crashed registry' }));
    ledger = open();
    await expect(create('p-3')).resolves.toMatchObject({ blockNumber: 3 });
  });

  it('lets a reader in another process follow the writer: events and reads catch up with the block file', async () => {
    await create('p-1');
    const follower = new EmbeddedLedger({ dir, contracts, msps, followPollMs: 10 });
    try {
      const seen: string[] = [];
      const following = (async () => {
        for await (const event of follower.events()) {
          seen.push(`${event.blockNumber}:${event.eventName}:${JSON.parse(event.payload).id}`);
          if (seen.length === 3) return;
        }
      })();
      await create('p-2');
      await update('p-1', 1, 'changed after the follower opened');
      await following;
      expect(seen).toEqual(['0:PassportCreated:p-1', '1:PassportCreated:p-2', '2:PassportUpdated:p-1']);
      expect(JSON.parse(await follower.evaluate(dev, 'passport:Read', ['p-1'])).description).toBe('changed after the follower opened');
      expect(follower.catchUp()).toBe(3);
    } finally {
      await follower.close();
    }
  });

  it('verifies the chain, then names the first block whose bytes were changed', async () => {
    for (const id of ['p-1', 'p-2', 'p-3']) await create(id);
    expect(verify(dir)).toEqual({ ok: true, blocks: 3 });
    await ledger.close();
    const file = path.join(dir, BLOCK_FILE);
    const lines = readFileSync(file, 'utf8').split('\n');
    const at = lines[1].indexOf('"txName":"passport:Create"') + 12;
    expect(at).toBeGreaterThan(12);
    const bytes = Buffer.from(readFileSync(file));
    const offset = Buffer.byteLength(`${lines[0]}\n`) + at;
    bytes[offset] ^= 0x01;
    writeFileSync(file, bytes);
    expect(verify(dir)).toMatchObject({ ok: false, block: 1, reason: 'dataHash does not match its transactions' });
    expect(() => open()).toThrow(/block 1 is bad/);
    ledger = { close: async () => undefined } as unknown as EmbeddedLedger;
  });
});
