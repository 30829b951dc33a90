import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addIdentity, type Identity } from '@fedledger/identity';
import { LedgerError, type LedgerGateway } from '@fedledger/ledger';
import { startFabricNetwork, type FabricNetwork } from '@fedledger/local-stack';
import { datasetFixture, grantFixture, passportFixture, spawnService, startFerret, startNats, type ServiceProcess } from '@fedledger/testing';
import { openLedger } from '../src';

/**
 * The ai-passport chaincode and the Fabric LedgerGateway on a real Hyperledger Fabric 2.5.9 network (one Raft
 * orderer, a peer of UB and of InBreast, TLS, the chaincode as a service), started from .tools/bin on the project's
 * own identities.
 */
let root: string;
let network: FabricNetwork;
let ledger: LedgerGateway;
let dev: Identity;
let otherDev: Identity;
let agg: Identity;
let steward: Identity;
let ids: string;

const passport = passportFixture('p-fabric-1', { datasets: [{ datasetId: 'ds-inbreast', role: 'train', centre: 'inbreast' }], aggregators: ['UBMSP/registry'] });

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-fabric-'));
  ids = path.join(root, 'identities');
  network = await startFabricNetwork({ dataDir: path.join(root, 'fabric'), identityDir: ids });
  dev = await addIdentity(ids, { org: 'ub', user: 'dev-1', role: 'developer' });
  otherDev = await addIdentity(ids, { org: 'inbreast', user: 'dev-2', role: 'developer' });
  agg = await addIdentity(ids, { org: 'ub', user: 'registry', role: 'aggregator' });
  steward = await addIdentity(ids, { org: 'inbreast', user: 'steward', role: 'centre' });
  ledger = openLedger({ mode: 'fabric', fabricConnection: network.connectionFile, reader: dev });
}, 240_000);

afterAll(async () => {
  await ledger?.close();
  await network?.stop();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('the ai-passport chaincode on a real Fabric network', () => {
  it('creates a passport as a developer of UB, and refuses an update by a developer of InBreast with the reason', async () => {
    const created = await ledger.submit(dev, 'passport:Create', [JSON.stringify(passport)]);
    expect(created.blockNumber).toBeGreaterThan(0);
    expect(JSON.parse(created.result)).toMatchObject({ id: 'p-fabric-1', owner: { mspId: 'UBMSP', commonName: 'dev-1' }, version: 1 });
    const refused = await ledger.submit(otherDev, 'passport:Update', ['p-fabric-1', '1', JSON.stringify({ description: 'taken over' })]).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(LedgerError);
    expect(refused).toMatchObject({ code: 'ENDORSEMENT_FAILURE', message: expect.stringContaining('passport p-fabric-1 is owned by UBMSP/dev-1, caller is InbreastMSP/dev-2') });
  });

  it('records a federated round by the aggregator identity, and returns every version in the history', async () => {
    const round = await ledger.submit(agg, 'passport:AddRound', [
      'p-fabric-1',
      JSON.stringify({ roundNumber: 1, previousRoundDigest: null, participants: [{ centre: 'inbreast', updateDigest: `sha256:${'a'.repeat(64)}`, numExamples: 40 }], aggregateDigest: `sha256:${'b'.repeat(64)}`, metrics: [{ name: 'loss', value: 0.7 }] }),
    ]);
    expect(JSON.parse(round.result)).toMatchObject({ roundNumber: 1, aggregator: 'UBMSP/registry' });
    await ledger.submit(dev, 'passport:Update', ['p-fabric-1', '2', JSON.stringify({ description: 'second description' })]);
    const history = JSON.parse(await ledger.evaluate(otherDev, 'passport:History', ['p-fabric-1'])) as { txId: string; value: { version: number } }[];
    expect(history.map((h) => h.value.version)).toEqual([1, 2, 3]);
    expect(await ledger.chainHeight()).toBeGreaterThan(round.blockNumber);
  });

  it('sees a grant revoked by the dataset owner as revoked', async () => {
    await ledger.submit(steward, 'dataset:Register', [JSON.stringify(datasetFixture('ds-inbreast'))]);
    await ledger.submit(steward, 'dataset:Grant', ['ds-inbreast', JSON.stringify(grantFixture('p-fabric-1'))]);
    expect(JSON.parse(await ledger.evaluate(dev, 'dataset:CheckGrant', ['ds-inbreast', 'p-fabric-1', 'training']))).toMatchObject({ live: true });
    await ledger.submit(steward, 'dataset:RevokeGrant', ['ds-inbreast', 'p-fabric-1']);
    expect(JSON.parse(await ledger.evaluate(dev, 'dataset:CheckGrant', ['ds-inbreast', 'p-fabric-1', 'training']))).toMatchObject({ live: false, reason: expect.stringContaining('revoked') });
  });

  it('delivers the chaincode events from the start, and resumes after a checkpoint', async () => {
    const take = async (n: number, from?: Parameters<LedgerGateway['events']>[0]) => {
      const got: { name: string; checkpoint: Parameters<LedgerGateway['events']>[0] }[] = [];
      for await (const event of ledger.events(from)) {
        got.push({ name: event.eventName, checkpoint: event.checkpoint });
        if (got.length === n) break;
      }
      return got;
    };
    const first = await take(3);
    expect(first.map((e) => e.name)).toEqual(['PassportCreated', 'RoundAdded', 'PassportUpdated']);
    const rest = await take(3, first[2]!.checkpoint);
    expect(rest.map((e) => e.name)).toEqual(['DatasetRegistered', 'GrantIssued', 'GrantRevoked']);
  });

  it('lets the ledger-indexer (LEDGER=fabric) catch up from its checkpoint after a SIGKILL, the cache matching the peer', async () => {
    const [nats, ferret] = await Promise.all([startNats(), startFerret()]);
    let indexer: ServiceProcess | undefined;
    const env = { HTTP_PORT: '0', LEDGER: 'fabric', FABRIC_CONNECTION: network.connectionFile, IDENTITY_DIR: ids, MONGO_URL: ferret.uri, MONGO_DB: 'cache' };
    const start = async () => {
      indexer = spawnService('ledger-indexer', nats.url, env);
      return String((await indexer.ready()).http);
    };
    const caughtUp = async (api: string, version: number) => {
      for (let i = 0; i < 300; i++) {
        const res = await fetch(`${api}/passports/p-fabric-1/timeline`);
        if (res.ok && ((await res.json()) as { passport: { version: number } }).passport.version === version) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the indexer did not reach version ${version} of p-fabric-1: ${indexer?.output().slice(-2000)}`);
    };
    try {
      let api = await start();
      await caughtUp(api, 3);
      indexer!.kill('SIGKILL');
      await indexer!.exited();
      await ledger.submit(dev, 'passport:Update', ['p-fabric-1', '3', JSON.stringify({ description: 'written while the indexer was down' })]);
      api = await start();
      await caughtUp(api, 4);
      const answer = await fetch(`${api}/audit`);
      if (!answer.ok) await new Promise((r) => setTimeout(r, 500));
      const audit = (await answer.json()) as { ok: boolean; checked: Record<string, number>; passports: { differences: string[] }[]; others: string[] };
      expect({ status: answer.status, audit: answer.ok ? 'ok' : { audit, log: indexer!.output().slice(-1500) } }).toEqual({ status: 200, audit: 'ok' });
      expect([...audit.passports.flatMap((p) => p.differences), ...audit.others]).toEqual([]);
      expect(audit).toMatchObject({ ok: true, checked: { passports: 1, versions: 4, rounds: 1, datasets: 1, grants: 1 } });
      const health = (await (await fetch(`${api}/health`)).json()) as { checks: { index: { lagBlocks: number } } };
      expect(health.checks.index.lagBlocks).toBe(0);
    } finally {
      await indexer?.stop();
      await Promise.all([nats.stop(), ferret.stop()]);
    }
  }, 120_000);
});
