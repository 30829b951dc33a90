import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { ExperimentCompleted, ExperimentOutcome, kvBuckets, RoundCompleted, streams } from '@fedledger/contracts';
import { addIdentity, initOrganisations, type Identity } from '@fedledger/identity';
import { signPrepared, type Proposal } from '@fedledger/ledger';
import fc from 'fast-check';
import { passportFixture, spawnService, startNats, type NatsFixture, type ServiceProcess } from '@fedledger/testing';

/**
 * The passport-registry as a real process on a real nats-server and a real embedded ledger (the ai-passport
 * chaincode): signed transactions relayed without forging their author, reads, refusals as 4xx with the reason,
 * and the automatic record of rounds and the final model from FL_EVENTS.
 */
let nats: NatsFixture;
let root: string;
let ids: string;
let ledgerDir: string;
let registry: ServiceProcess;
let api: string;
let nc: NatsConnection;
let dev: Identity;
let otherDev: Identity;

const hex = (c: string) => c.repeat(64);
const passportInput = passportFixture('p-reg-1', { aggregators: ['UBMSP/passport-registry'] });

type Answer = { status: number; body: Record<string, unknown> };
async function post(pathname: string, body: unknown): Promise<Answer> {
  const res = await fetch(`${api}${pathname}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
async function get(pathname: string): Promise<Answer> {
  const res = await fetch(`${api}${pathname}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
/** prepare → sign locally → submit, as the CLI does; `signer` other than `who` forges who's name. */
async function submitAs(who: Identity, txName: string, args: string[], signer: Identity = who): Promise<Answer> {
  const prepared = await post('/transactions/prepare', { txName, args, creator: { mspId: who.mspId, certPem: who.certPem } });
  expect(prepared.status).toBe(200);
  const proposal = prepared.body.proposal as Proposal;
  const signature = signPrepared(signer, { ...proposal, creator: { mspId: signer.mspId, certPem: signer.certPem } }).signature;
  return post('/transactions/submit', signer === who ? signPrepared(who, proposal) : { proposal, signature });
}

beforeAll(async () => {
  nats = await startNats();
  root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-registry-'));
  ids = path.join(root, 'identities');
  ledgerDir = path.join(root, 'ledger');
  await initOrganisations(ids);
  dev = await addIdentity(ids, { org: 'ub', user: 'dev-1', role: 'developer' });
  otherDev = await addIdentity(ids, { org: 'ub', user: 'dev-2', role: 'developer' });
  await addIdentity(ids, { org: 'ub', user: 'passport-registry', role: 'aggregator' });
  registry = spawnService('passport-registry', nats.url, { HTTP_PORT: '0', LEDGER_DIR: ledgerDir, IDENTITY_DIR: ids });
  const health = await registry.ready();
  api = String(health.http);
  nc = await connect({ servers: nats.url });
}, 60_000);

afterAll(async () => {
  await nc?.close();
  const code = await registry?.stop();
  await nats?.stop();
  rmSync(root, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('passport-registry', () => {
  it('serves its health and OpenAPI document', async () => {
    expect((await get('/health')).body).toMatchObject({ status: 'ok', service: 'passport-registry' });
    const doc = await get('/openapi.json');
    expect(Object.keys(doc.body.paths as object)).toEqual(expect.arrayContaining(['/transactions/prepare', '/transactions/submit', '/passports/{id}', '/passports/{id}/rounds']));
  });

  it('relays a transaction its author signed: the ledger records the author, not the registry', async () => {
    const created = await submitAs(dev, 'passport:Create', [JSON.stringify(passportInput)]);
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ blockNumber: 0, result: { id: 'p-reg-1', owner: { mspId: 'UBMSP', commonName: 'dev-1' }, status: 'DRAFT' } });
    expect((await get('/passports/p-reg-1')).body).toMatchObject({ id: 'p-reg-1', version: 1, owner: { commonName: 'dev-1' } });
    expect((await get('/passports/p-reg-1/history')).status).toBe(200);
  });

  it('refuses an update by another user with 403 and the reason, a forged signature with 401, a stale version with 409', async () => {
    const refused = await submitAs(otherDev, 'passport:Update', ['p-reg-1', '1', JSON.stringify({ description: 'taken over' })]);
    expect(refused).toEqual({ status: 403, body: expect.objectContaining({ code: 'ENDORSEMENT_FAILURE', message: 'passport p-reg-1 is owned by UBMSP/dev-1, caller is UBMSP/dev-2' }) });
    // dev-2 signs a proposal that names dev-1 as its author: the ledger checks the signature against dev-1's certificate.
    const forged = await submitAs(dev, 'passport:Update', ['p-reg-1', '1', JSON.stringify({ description: 'forged' })], otherDev);
    expect(forged.status).toBe(401);
    expect(forged.body.message).toBe('proposal refused: the signature does not match the proposal and the creator certificate');
    expect((await submitAs(dev, 'passport:Update', ['p-reg-1', '1', JSON.stringify({ description: 'second version' })])).status).toBe(200);
    const stale = await submitAs(dev, 'passport:Update', ['p-reg-1', '1', JSON.stringify({ description: 'third' })]);
    expect(stale.status).toBe(409);
    expect((await get('/passports/p-reg-1')).body).toMatchObject({ version: 2, description: 'second version' });
  });

  it('answers bad input with 400 naming the field, and an unknown passport with 404', async () => {
    const bad = await post('/transactions/prepare', { txName: 'Create', args: 'x', creator: { mspId: 'UBMSP' } });
    expect(bad.status).toBe(400);
    expect(bad.body.problems).toEqual(
      expect.arrayContaining(["body.txName: expected 'passport:<Name>' or 'dataset:<Name>'", 'body.args: Expected array, received string', 'body.creator.certPem: Required']),
    );
    const digest = await get('/passports/p-reg-1/verify?digest=abc');
    expect(digest.status).toBe(400);
    expect(digest.body.message).toContain("query.digest: expected 'sha256:' and 64 lower-case hex characters");
    expect(await get('/passports/nope')).toEqual({ status: 404, body: expect.objectContaining({ message: 'passport nope does not exist' }) });
    expect((await get('/passports?owner=UBMSP&status=DRAFT')).status).toBe(400);
    const page = await get('/passports?owner=UBMSP');
    expect((page.body.records as { id: string }[]).map((p) => p.id)).toEqual(['p-reg-1']);
  });

  it('records each round.completed of the experiment on its passport as a digest chain, once, then the final model', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: streams.FL_EVENTS.name, subjects: [...streams.FL_EVENTS.subjects] });
    const js = jetstream(nc);
    const kv = await new Kvm(js).create(kvBuckets.experiments, { history: 10 });
    await kv.put('exp-reg', JSON.stringify({ plan: { id: 'exp-reg', passportId: 'p-reg-1' } }));
    await kv.put('exp-other', JSON.stringify({ plan: { id: 'exp-other' } })); // no passport: nothing recorded
    const round = (n: number) =>
      RoundCompleted.encode({
        experimentId: 'exp-reg',
        round: n,
        results: [
          { centreId: 'inbreast', numExamples: 40, weights: { sha256: hex(String(n)), blobId: `b${n}a` } },
          { centreId: 'bcdr', numExamples: 60, weights: { sha256: hex('e'), blobId: `b${n}b` } },
        ],
        aggregatedMetrics: [
          { name: 'loss', value: 1 / n },
          { name: 'auc', value: Number.NaN },
        ],
        aggregate: { sha256: hex(['a', 'b', 'c'][n - 1]!), blobId: `agg${n}` },
      }).finish();
    await js.publish('fl.events.exp-other.round.completed', RoundCompleted.encode({ experimentId: 'exp-other', round: 1, aggregate: { sha256: hex('f') } }).finish());
    for (const n of [1, 2, 2, 3]) await js.publish('fl.events.exp-reg.round.completed', round(n)); // round 2 delivered twice
    await js.publish(
      'fl.events.exp-reg.experiment.completed',
      ExperimentCompleted.encode({ experimentId: 'exp-reg', outcome: ExperimentOutcome.EXPERIMENT_OUTCOME_SUCCEEDED, roundsCompleted: 3, finalWeights: { sha256: hex('c') } }).finish(),
    );
    let passport: Record<string, unknown> = {};
    for (let i = 0; i < 200 && passport.artifactDigest !== `sha256:${hex('c')}`; i++) {
      await new Promise((r) => setTimeout(r, 100));
      passport = (await get('/passports/p-reg-1')).body;
    }
    expect(passport).toMatchObject({ roundCount: 3, artifactDigest: `sha256:${hex('c')}` });
    const rounds = (await get('/passports/p-reg-1/rounds')).body.records as Record<string, unknown>[];
    expect(rounds.map((r) => [r.roundNumber, r.aggregateDigest, r.aggregator])).toEqual([
      [1, `sha256:${hex('a')}`, 'UBMSP/passport-registry'],
      [2, `sha256:${hex('b')}`, 'UBMSP/passport-registry'],
      [3, `sha256:${hex('c')}`, 'UBMSP/passport-registry'],
    ]);
    expect(rounds[0]!.previousRoundDigest).toBeNull();
    expect(rounds[1]!.previousRoundDigest).toBe(rounds[0]!.roundDigest);
    expect(rounds[2]!.previousRoundDigest).toBe(rounds[1]!.roundDigest);
    expect(passport.lastRoundDigest).toBe(rounds[2]!.roundDigest);
    expect(rounds[0]).toMatchObject({
      participants: [
        { centre: 'inbreast', numExamples: 40, updateDigest: `sha256:${hex('1')}` },
        { centre: 'bcdr', numExamples: 60, updateDigest: `sha256:${hex('e')}` },
      ],
      metrics: [{ name: 'loss', value: 1, dataset: 'exp-reg/train' }],
    });
    expect((await get(`/passports/p-reg-1/verify?digest=sha256:${hex('c')}`)).body).toMatchObject({ match: true });
    expect((await get(`/passports/p-reg-1/verify?digest=sha256:${hex('b')}`)).body).toMatchObject({ match: false });
  }, 60_000);

  it('answers any body or query it cannot use with a 4xx and the reason, never a 5xx, and stays healthy (property-based)', async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/transactions/prepare', '/transactions/submit', '/transactions/evaluate'),
        fc.oneof(
          fc.jsonValue(),
          // near misses of a real body: the right shape with wrong values
          fc.record({ txName: fc.string(), args: fc.array(fc.string(), { maxLength: 3 }), creator: fc.record({ mspId: fc.string(), certPem: fc.string() }) }),
          fc.record({ proposal: fc.record({ channel: fc.string(), chaincode: fc.string(), txName: fc.constantFrom('passport:Read', 'passport:Create'), args: fc.array(fc.string()), creator: fc.record({ mspId: fc.constant('UBMSP'), certPem: fc.constant(dev.certPem) }), nonce: fc.base64String({ minLength: 4 }), timestamp: fc.date().map((d) => d.toISOString()) }), signature: fc.base64String({ minLength: 4 }) }),
        ),
        async (pathname, body) => {
          const answer = await post(pathname, body);
          statuses.add(answer.status);
          expect(answer.status === 200 || (answer.status >= 400 && answer.status < 500)).toBe(true);
          if (answer.status !== 200) expect(typeof answer.body.message).toBe('string');
        },
      ),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), async (key, value) => {
        const res = await fetch(`${api}/passports?${new URLSearchParams({ [key]: value }).toString()}`);
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 100 },
    );
    expect([...statuses].every((s) => s < 500)).toBe(true);
    expect((await get('/health')).body).toMatchObject({ status: 'ok' });
  }, 120_000);

  it('refuses a request body over the size limit with 413 and a reason, no stack trace, and stays healthy', async () => {
    const huge = { txName: 'passport:Create', args: ['x'.repeat(200 * 1024)], creator: { mspId: dev.mspId, certPem: dev.certPem } };
    const answer = await post('/transactions/prepare', huge);
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ message: 'request entity too large' });
    expect(JSON.stringify(answer.body)).not.toMatch(/\bat \S+ \(|node_modules/);
    expect((await get('/health')).status).toBe(200);
  });

  it('refuses to start, naming REGISTRY_IDENTITY, when its identity is not an aggregator', async () => {
    const wrong = spawnService('passport-registry', nats.url, { HTTP_PORT: '0', LEDGER_DIR: path.join(root, 'other-ledger'), IDENTITY_DIR: ids, REGISTRY_IDENTITY: 'ub/dev-1' });
    expect(await wrong.exited()).toBe(78);
    expect(wrong.output()).toContain('REGISTRY_IDENTITY: ub/dev-1 has role developer; the registry records rounds and needs role aggregator');
  }, 30_000);
});
