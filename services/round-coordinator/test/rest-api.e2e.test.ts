import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { startTestFederation, type TestFederation } from '@fedledger/federation';
import { addIdentity, initOrganisations, loadIdentity, REQUEST_HEADERS, signRequest, type Identity } from '@fedledger/identity';

/**
 * The coordinator's REST API as an attacker or a careless client meets it (a real coordinator on a real, secured
 * NATS): every write is signed by its caller's identity, only developers and admins create, only the creator (or an
 * admin of its organisation) controls an experiment, and no body, path or header makes it answer 5xx.
 */
let fed: TestFederation;
let api: string;
let dev1: Identity;
let dev2: Identity;
let auditor: Identity;
let stranger: Identity;
let strangerDir: string;
let weights: unknown;

const noStack = (text: string) => expect(text).not.toMatch(/\bat \S+ \(|node_modules|\.ts:\d+/);

async function post(pathname: string, body: unknown, as?: Identity, tamper?: (h: Record<string, string>) => Record<string, string>): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  let headers: Record<string, string> = { 'content-type': 'application/json', ...(as ? signRequest(as, { method: 'POST', path: pathname, body: bytes }) : {}) };
  if (tamper) headers = tamper(headers);
  const res = await fetch(`${api}${pathname}`, { method: 'POST', headers, body: bytes });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the assertions on status and text say what went wrong
  }
  return { status: res.status, body: parsed, text };
}

const plan = (id: string) => ({ id, initialWeights: weights, rounds: 1, centres: ['c1'], minFitCentres: 1, roundDeadlineMs: 60_000 });

beforeAll(async () => {
  fed = await startTestFederation({ centres: [], env: { LOG_LEVEL: 'error', CENTRES_WAIT_MS: '0' } });
  api = fed.federation.apiUrl;
  const ids = fed.federation.identityDir;
  await initOrganisations(ids); // the federation made only the platform's organisation; the hospitals' too
  dev1 = loadIdentity(ids, 'ub', 'dev-1'); // the federation's own caller
  dev2 = await addIdentity(ids, { org: 'ub', user: 'dev-2', role: 'developer' });
  auditor = await addIdentity(ids, { org: 'ub', user: 'auditor-1', role: 'auditor' });
  strangerDir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-stranger-'));
  await initOrganisations(strangerDir);
  stranger = await addIdentity(strangerDir, { org: 'ub', user: 'dev-1', role: 'developer' });
  weights = await fed.putWeights([{ name: 'dense/kernel', shape: [2, 2], data: new Float32Array(4) }]);
}, 120_000);

afterAll(async () => {
  await fed?.stop();
  rmSync(strangerDir, { recursive: true, force: true });
});

test('a write without a valid signature of a known identity is refused with 401 and the reason; nothing is created', async () => {
  const unsigned = await post('/experiments', plan('unsigned'));
  expect(unsigned.status).toBe(401);
  expect(unsigned.body.message).toBe(`request POST /experiments is not signed: header ${REQUEST_HEADERS.certificate} is missing (sign requests with your identity, e.g. \`fedledger experiment … --as <org>/<user>\`)`);

  // same user name, same organisation name, but another CA: a look-alike identity
  const lookalike = await post('/experiments', plan('lookalike'), stranger);
  expect(lookalike.status).toBe(401);
  expect(lookalike.body.message).toMatch(/^request POST \/experiments is signed by .*CN=dev-1, not by an identity of an organisation known here$/);

  // a valid signature over another body
  const tampered = await post('/experiments', plan('tampered'), dev1, (h) => ({ ...h, [REQUEST_HEADERS.signature]: signRequest(dev1, { method: 'POST', path: '/experiments', body: Buffer.from('{}') })[REQUEST_HEADERS.signature]! }));
  expect(tampered.status).toBe(401);
  expect(tampered.body.message).toContain('the signature does not match this method, path, time and body (signed by UBMSP/dev-1)');

  const old = await post('/experiments', plan('old'), dev1, (h) => ({ ...h, ...signRequest(dev1, { method: 'POST', path: '/experiments', body: Buffer.from(JSON.stringify(plan('old'))) }, Date.now() - 10 * 60_000) }));
  expect(old.status).toBe(401);
  expect(old.body.message).toMatch(/more than 5 minutes from this service's clock/);

  for (const refused of [unsigned, lookalike, tampered, old]) noStack(refused.text);
  const list = (await (await fetch(`${api}/experiments`)).json()) as { id: string }[];
  expect(list.map((e) => e.id)).not.toEqual(expect.arrayContaining(['unsigned', 'lookalike', 'tampered', 'old']));
});

test('a signed request cannot be replayed', async () => {
  const body = Buffer.from(JSON.stringify(plan('replayed')), 'utf8');
  const headers = { 'content-type': 'application/json', ...signRequest(dev1, { method: 'POST', path: '/experiments', body }) };
  const first = await fetch(`${api}/experiments`, { method: 'POST', headers, body });
  expect(first.status).toBe(201);
  const again = await fetch(`${api}/experiments`, { method: 'POST', headers, body });
  expect(again.status).toBe(401);
  expect(((await again.json()) as { message: string }).message).toBe('request POST /experiments: this signature was already used (a replay); sign each request anew');
});

test('developers and admins create; only the creator or an admin of its organisation controls an experiment', async () => {
  const byAuditor = await post('/experiments', plan('audited'), auditor);
  expect(byAuditor.status).toBe(403);
  expect(byAuditor.body.message).toBe('UBMSP/auditor-1 (role auditor) may not create experiments: developers and organisation admins may');

  const created = await post('/experiments', plan('owned'), dev1);
  expect(created.status).toBe(201);
  expect(created.body.createdBy).toEqual({ org: 'ub', mspId: 'UBMSP', user: 'dev-1' });

  const byOther = await post('/experiments/owned/abort', {}, dev2);
  expect(byOther.status).toBe(403);
  expect(byOther.body.message).toBe('experiment owned was created by UBMSP/dev-1; UBMSP/dev-2 may not abort it (its creator or an admin of UBMSP may)');
  const byOtherAdmin = await post('/experiments/owned/start', {}, loadIdentity(fed.federation.identityDir, 'inbreast', 'Admin'));
  expect(byOtherAdmin.status).toBe(403);
  expect(byOtherAdmin.body.message).toBe('experiment owned was created by UBMSP/dev-1; InbreastMSP/Admin may not start it (its creator or an admin of UBMSP may)');

  const byAdmin = await post('/experiments/owned/abort', { reason: 'stopped by the platform admin' }, loadIdentity(fed.federation.identityDir, 'ub', 'Admin'));
  expect(byAdmin.status).toBe(200);
  expect(byAdmin.body).toMatchObject({ status: 'aborted', reason: 'stopped by the platform admin' });
  const badReason = await post('/experiments/owned/abort', { reason: { $ne: 1 } }, dev1);
  expect(badReason.status).toBe(400);
  expect(badReason.body.message).toBe('invalid body: body.reason: Expected string, received object');
  // reads stay open
  expect((await fetch(`${api}/experiments/owned`)).status).toBe(200);
});

test('no body, path or id makes it answer 5xx: 2xx or 4xx with the reason, no stack trace, and it stays healthy (property-based)', async () => {
  const statuses = new Set<number>();
  const planLike = fc.record(
    {
      id: fc.oneof(fc.string(), fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.integer()),
      initialWeights: fc.oneof(fc.constant(weights), fc.jsonValue(), fc.record({ blobId: fc.string(), sha256: fc.string(), sizeBytes: fc.integer() })),
      rounds: fc.oneof(fc.integer(), fc.double(), fc.string()),
      centres: fc.oneof(fc.array(fc.string(), { maxLength: 4 }), fc.jsonValue()),
      minFitCentres: fc.oneof(fc.integer(), fc.constant(null)),
      roundDeadlineMs: fc.oneof(fc.integer(), fc.double()),
      strategy: fc.oneof(fc.record({ kind: fc.constantFrom('fedavg', 'fedmedian', 'fedprox', 'krum', 'nope'), params: fc.dictionary(fc.string(), fc.jsonValue()) }), fc.jsonValue()),
      evaluateEvery: fc.jsonValue(),
    },
    { requiredKeys: [] },
  );
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.jsonValue(), planLike), async (body) => {
      const answer = await post('/experiments', body, dev1);
      statuses.add(answer.status);
      expect(answer.status === 201 || (answer.status >= 400 && answer.status < 500)).toBe(true);
      if (answer.status !== 201) expect(typeof answer.body.message).toBe('string');
      noStack(answer.text);
    }),
    { numRuns: 150 },
  );
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 300 }), fc.constantFrom('start', 'pause', 'resume', 'abort'), fc.jsonValue(), async (id, action, body) => {
      const answer = await post(`/experiments/${encodeURIComponent(id)}/${action}`, body, dev1);
      statuses.add(answer.status);
      expect(answer.status === 200 || (answer.status >= 400 && answer.status < 500)).toBe(true);
      noStack(answer.text);
      const read = await fetch(`${api}/experiments/${encodeURIComponent(id)}`);
      expect(read.status === 200 || read.status === 404).toBe(true);
    }),
    { numRuns: 100 },
  );
  // garbage in the signature headers
  await fc.assert(
    fc.asyncProperty(fc.string(), fc.string(), fc.string(), async (cert, timestamp, signature) => {
      const answer = await post('/experiments', plan('headers'), undefined, (h) => ({ ...h, [REQUEST_HEADERS.certificate]: cert, [REQUEST_HEADERS.timestamp]: timestamp, [REQUEST_HEADERS.signature]: signature }));
      expect(answer.status === 400 || answer.status === 401).toBe(true);
      noStack(answer.text);
    }),
    { numRuns: 100 },
  );
  expect([...statuses].every((s) => s < 500)).toBe(true);
  expect((await fetch(`${api}/health`)).status).toBe(200);
}, 180_000);
