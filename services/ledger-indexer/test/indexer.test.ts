import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { LedgerEventIndexed, streams } from '@fedledger/contracts';
import { addIdentity, initOrganisations, loadIdentity, type Identity } from '@fedledger/identity';
import type { EmbeddedLedger } from '@fedledger/ledger';
import { collectionsOf, IndexerBusyError, LedgerIndexer } from '@fedledger/ledger-index';
import { openLocalLedger } from '@fedledger/ledger-host';
import { datasetFixture, grantFixture, passportFixture, spawnService, startFerret, startNats, type FerretFixture, type NatsFixture, type ServiceProcess } from '@fedledger/testing';

/**
 * The ledger-indexer as a real process, following a real embedded ledger written by this test (as the
 * passport-registry would), into a real FerretDB, announcing on a real nats-server.
 */
let nats: NatsFixture;
let ferret: FerretFixture;
let root: string;
let ids: string;
let ledgerDir: string;
let ledger: EmbeddedLedger;
let mongo: MongoClient;
let dev: Identity;
let agg: Identity;
let steward: Identity;
let auditor: Identity;
let reader: Identity;
let indexer: ServiceProcess | undefined;
let api = '';
let events = 0;

const hex = (c: string) => `sha256:${c.repeat(64)}`;
const env = () => ({ HTTP_PORT: '0', MONGO_URL: ferret.uri, MONGO_DB: 'cache', LEDGER_DIR: ledgerDir, IDENTITY_DIR: ids, FEDLEDGER_OTEL_EXPORTER: 'console', OTEL_METRIC_EXPORT_INTERVAL: '300' });

async function submit(who: Identity, txName: string, args: unknown[]): Promise<void> {
  await ledger.submit(who, txName, args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))));
  events += 1; // every write of the chaincode emits one event
}

async function createPassport(id: string, description: string): Promise<void> {
  await submit(dev, 'passport:Create', [passportFixture(id, { description, datasets: [{ datasetId: 'ds-inbreast', role: 'train', centre: 'inbreast' }], aggregators: ['UBMSP/registry'] })]);
}

const roundDigests = new Map<string, string | null>();
async function addRound(id: string, n: number): Promise<void> {
  const result = await ledger.submit(agg, 'passport:AddRound', [
    id,
    JSON.stringify({ roundNumber: n, previousRoundDigest: roundDigests.get(id) ?? null, participants: [{ centre: 'inbreast', updateDigest: hex('a'), numExamples: 40 + n }], aggregateDigest: hex(String(n % 10)), metrics: [{ name: 'loss', value: 1 / n }] }),
  ]);
  events += 1;
  roundDigests.set(id, (JSON.parse(result.result) as { roundDigest: string }).roundDigest);
}

async function get(pathname: string): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await fetch(`${api}${pathname}`);
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // an HTML page
  }
  return { status: res.status, body, text };
}

async function startIndexer(): Promise<void> {
  indexer = spawnService('ledger-indexer', nats.url, env());
  api = String((await indexer.ready()).http);
}

/** Until the cache holds every event written so far. */
async function caughtUp(timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = (await get('/health')).body;
    const index = (health.checks as Record<string, { lagBlocks: number; indexedHeight: number; ledgerHeight: number }> | undefined)?.index;
    const state = await mongo.db('cache').collection('indexer_state').findOne({ _id: 'checkpoint' as never });
    if (index && index.lagBlocks === 0 && index.ledgerHeight === ledger.height && state && Number(state.blockNumber) === ledger.height - 1) return health;
    if (Date.now() > deadline) throw new Error(`the indexer did not catch up: ${JSON.stringify(health)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  [nats, ferret] = await Promise.all([startNats(), startFerret()]);
  root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-indexer-'));
  ids = path.join(root, 'identities');
  ledgerDir = path.join(root, 'ledger');
  await initOrganisations(ids);
  dev = await addIdentity(ids, { org: 'ub', user: 'dev-1', role: 'developer' });
  agg = await addIdentity(ids, { org: 'ub', user: 'registry', role: 'aggregator' });
  steward = await addIdentity(ids, { org: 'inbreast', user: 'steward', role: 'centre' });
  auditor = await addIdentity(ids, { org: 'bcdr', user: 'auditor-1', role: 'auditor' });
  reader = loadIdentity(ids, 'ub', 'Admin');
  ledger = openLocalLedger({ ledgerDir, identityDir: ids, holder: 'the test writer' });
  mongo = await MongoClient.connect(ferret.uri);

  await submit(steward, 'dataset:Register', [datasetFixture('ds-inbreast', { description: 'InBreast mammograms', size: 342 })]);
  await createPassport('p-1', 'Breast lesion classifier, federated across five centres');
  await createPassport('p-2', 'Density grading model');
  await submit(steward, 'dataset:Grant', ['ds-inbreast', grantFixture('p-1')]);
  await submit(steward, 'dataset:Grant', ['ds-inbreast', grantFixture('p-2')]);
  for (const n of [1, 2, 3]) await addRound('p-1', n);
  await submit(auditor, 'passport:FlagBias', ['p-1', { type: 'performance gap', affectedGroup: 'dense breasts', severity: 'HIGH' }]);
  await submit(dev, 'passport:ResolveBias', ['p-1', 'bias-1', 'retrained with density-stratified sampling']);
  await submit(steward, 'dataset:RevokeGrant', ['ds-inbreast', 'p-2']);
  await submit(dev, 'passport:SetStatus', ['p-2', 'ACTIVE', 'validated']);
  await startIndexer();
}, 120_000);

afterAll(async () => {
  await indexer?.stop();
  await mongo?.close();
  await ledger?.close();
  await Promise.all([nats?.stop(), ferret?.stop()]);
  rmSync(root, { recursive: true, force: true });
});

describe('ledger-indexer', () => {
  it('mirrors the ledger into the cache and reports no lag once caught up', async () => {
    const health = await caughtUp();
    expect(health).toMatchObject({ status: 'ok', checks: { index: { ok: true, lagBlocks: 0 } } });
    const c = collectionsOf(mongo.db('cache'));
    expect(await c.versions.countDocuments({ passportId: 'p-1' })).toBe(6); // create, 3 rounds, bias flagged, bias resolved
    expect(await c.rounds.countDocuments({ passportId: 'p-1' })).toBe(3);
    expect(await c.grants.countDocuments()).toBe(2);
    // The lag is a metric as well (the console exporter prints it every 300 ms here).
    for (let i = 0; i < 50 && !/fedledger\.ledger_indexer\.lag[\s\S]*value: 0/.test(indexer!.output()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(indexer!.output()).toMatch(/name: 'fedledger\.ledger_indexer\.lag'[\s\S]*value: 0/);
  });

  it('answers the audit queries from the cache: filters, timeline (JSON and HTML), datasets with live and revoked grants', async () => {
    await caughtUp();
    expect(((await get('/passports?owner=UBMSP')).body.passports as { id: string }[]).map((p) => p.id)).toEqual(['p-1', 'p-2']);
    expect(((await get('/passports?status=ACTIVE')).body.passports as { id: string }[]).map((p) => p.id)).toEqual(['p-2']);
    expect(((await get('/passports?q=FEDERATED%20across')).body.passports as { id: string }[]).map((p) => p.id)).toEqual(['p-1']);
    expect(((await get('/passports?dataset=ds-inbreast&trainingType=FEDERATED')).body.total)).toBe(2);
    expect((await get('/passports?status=LOST')).status).toBe(400);

    const timeline = (await get('/passports/p-1/timeline')).body as { rounds: Record<string, unknown>[]; versions: unknown[]; biases: Record<string, unknown>[]; grants: Record<string, unknown>[]; entries: { kind: string }[] };
    expect(timeline.rounds.map((r) => [r.roundNumber, r.roundDigest])).toEqual([1, 2, 3].map((n) => [n, expect.stringMatching(/^sha256:/)]));
    expect(timeline.rounds[1]!.previousRoundDigest).toBe(timeline.rounds[0]!.roundDigest);
    expect(timeline.biases).toEqual([expect.objectContaining({ biasId: 'bias-1', status: 'RESOLVED', resolution: 'retrained with density-stratified sampling' })]);
    expect(timeline.grants).toEqual([expect.objectContaining({ datasetId: 'ds-inbreast', status: 'GRANTED' })]);
    expect(timeline.entries.map((e) => e.kind)).toEqual(expect.arrayContaining(['version', 'round', 'bias-flagged', 'bias-resolved', 'grant']));
    const page = await get('/passports/p-1/timeline.html');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1>AI passport <code>p-1</code>');
    expect(page.text).toContain('retrained with density-stratified sampling');
    expect((await get('/passports/nope/timeline')).status).toBe(404);

    const dataset = (await get('/datasets/ds-inbreast')).body as { live: { subject: string }[]; revokedOrExpired: { subject: string }[] };
    expect(dataset.live.map((g) => g.subject)).toEqual(['p-1']);
    expect(dataset.revokedOrExpired.map((g) => g.subject)).toEqual(['p-2']);
  });

  it('announces every indexed event on ledger.events.<name>.<subject>', async () => {
    await caughtUp();
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      // The announcements follow the checkpoint: wait for them (bounded).
      const until = Date.now() + 15_000;
      let info = await jsm.streams.info(streams.LEDGER_EVENTS.name);
      while (info.state.messages < events && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        info = await jsm.streams.info(streams.LEDGER_EVENTS.name);
      }
      expect(info.state.messages).toBe(events);
      const revoked = await jsm.streams.getMessage(streams.LEDGER_EVENTS.name, { last_by_subj: 'ledger.events.GrantRevoked.>' });
      expect(LedgerEventIndexed.decode(revoked!.data)).toMatchObject({ eventName: 'GrantRevoked', subjectId: 'ds-inbreast/p-2' });
    } finally {
      await nc.close();
    }
  });

  it('converges after SIGKILLs at arbitrary points while the ledger keeps changing: nothing lost, nothing doubled; a replay into an empty cache gives the same documents', async () => {
    const writing = (async () => {
      for (let i = 0; i < 60; i++) {
        const current = JSON.parse(await ledger.evaluate(dev, 'passport:Read', ['p-2'])) as { version: number };
        await submit(dev, 'passport:Update', ['p-2', String(current.version), { description: `Density grading model, revision ${i}` }]);
        if (i % 20 === 19) await addRound('p-1', 3 + (i + 1) / 20);
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    for (const delay of [150, 420, 260]) {
      await new Promise((r) => setTimeout(r, delay));
      indexer!.kill('SIGKILL');
      await indexer!.exited();
      await startIndexer();
    }
    await writing;
    await caughtUp();
    const audit = (await get('/audit')).body as { ok: boolean; checked: Record<string, number>; passports: { differences: string[] }[]; others: string[] };
    expect(audit.passports.flatMap((p) => p.differences)).toEqual([]);
    expect(audit.others).toEqual([]);
    expect(audit).toMatchObject({ ok: true, checked: { passports: 2, rounds: 6, datasets: 1, grants: 2 } });
    const c = collectionsOf(mongo.db('cache'));
    expect(await c.versions.countDocuments({ passportId: 'p-2' })).toBe(62); // create, status, 60 updates

    // The whole ledger replayed into an empty cache, in this process: the same documents, positions included.
    const follower = openLocalLedger({ ledgerDir, identityDir: ids });
    const replay = new LedgerIndexer({ db: mongo.db('replay'), ledger: follower, reader });
    await replay.init();
    const running = replay.run();
    const r = collectionsOf(mongo.db('replay'));
    const deadline = Date.now() + 60_000;
    while ((await r.state.findOne({ _id: 'checkpoint' }))?.blockNumber !== ledger.height - 1 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    for (const name of ['passports', 'versions', 'rounds', 'biases', 'datasets', 'grants', 'grantLinks'] as const) {
      const a = await c[name].find({}).sort({ _id: 1 }).toArray();
      const b = await r[name].find({}).sort({ _id: 1 }).toArray();
      expect({ name, docs: b }).toEqual({ name, docs: a });
    }
    expect(replay.directory.query({})).toEqual({ total: 2, ids: ['p-1', 'p-2'] });
    await follower.close(); // ends its event stream
    await running;
  }, 180_000);

  it('lets one indexer write a cache: a second one is told who holds it', async () => {
    await caughtUp();
    const second = new LedgerIndexer({ db: mongo.db('cache'), ledger, reader, holder: 'a second indexer' });
    const refused = await second.init().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(IndexerBusyError);
    expect((refused as Error).message).toMatch(new RegExp(`^the cache is written by another indexer \\(ledger-indexer@${os.hostname()}, lease until `));
  });

  it('reports a cache row edited behind its back, naming the passport, the version and the field', async () => {
    await caughtUp();
    await mongo.db('cache').collection('passport_versions').updateOne({ _id: 'p-1@2' as never }, { $set: { 'value.description': 'rewritten in the cache' } });
    await mongo.db('cache').collection('rounds').updateOne({ _id: 'p-1#2' as never }, { $set: { aggregateDigest: hex('f') } });
    const audit = (await get('/audit/passports/p-1')).body as { ok: boolean; differences: string[] };
    expect(audit.ok).toBe(false);
    expect(audit.differences).toEqual([
      expect.stringMatching(/^version 2: description: cache "rewritten in the cache", ledger "Breast lesion classifier/),
      `round 2: aggregateDigest: cache "${hex('f')}", ledger "${hex('2')}"`,
    ]);
  });

  it('lists from the directory: the writer\'s follows every batch, a standby loads it from the cache; a cache from before the grant links gets them at start', async () => {
    await caughtUp();
    // An indexer that finds the cache written by another serves reads from a directory loaded from the cache.
    const standby = new LedgerIndexer({ db: mongo.db('cache'), ledger, reader, holder: 'a standby indexer' });
    await expect(standby.init()).rejects.toBeInstanceOf(IndexerBusyError);
    await standby.loadDirectory();
    expect(standby.directory.query({ owner: 'UBMSP' })).toEqual({ total: 2, ids: ['p-1', 'p-2'] });

    await createPassport('p-0', 'Calcification detector');
    await caughtUp();
    // The writer's listing has it as soon as the checkpoint passed it (the service lists from the writer's directory).
    expect(((await get('/passports?owner=UBMSP')).body.passports as { id: string }[]).map((p) => p.id)).toEqual(['p-0', 'p-1', 'p-2']);
    expect((await get('/passports?q=calcification&limit=1')).body).toMatchObject({ total: 1, passports: [{ id: 'p-0', description: 'Calcification detector' }] });
    expect(standby.directory.query({ owner: 'UBMSP' }).ids).toEqual(['p-1', 'p-2']); // until it reloads
    await standby.loadDirectory();
    expect(standby.directory.query({ owner: 'UBMSP' }).ids).toEqual(['p-0', 'p-1', 'p-2']);

    // A cache written before the links existed: the next indexer to start makes them from the cached grants.
    await mongo.db('cache').collection('grant_links').drop();
    await indexer!.stop();
    await startIndexer();
    await caughtUp();
    expect(await mongo.db('cache').collection('grant_links').find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'dataset/ds-inbreast', ids: ['p-1', 'p-2'] },
      { _id: 'subject/p-1', ids: ['ds-inbreast'] },
      { _id: 'subject/p-2', ids: ['ds-inbreast'] },
    ]);
    const dataset = (await get('/datasets/ds-inbreast')).body as { live: { subject: string }[]; revokedOrExpired: { subject: string }[] };
    expect([dataset.live.map((g) => g.subject), dataset.revokedOrExpired.map((g) => g.subject)]).toEqual([['p-1'], ['p-2']]);
    expect(((await get('/passports/p-2/timeline')).body.grants as { status: string }[]).map((g) => g.status)).toEqual(['REVOKED']);
  });
});
