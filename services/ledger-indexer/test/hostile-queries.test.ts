import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { addIdentity, initOrganisations } from '@fedledger/identity';
import type { EmbeddedLedger } from '@fedledger/ledger';
import { openLocalLedger } from '@fedledger/ledger-host';
import { datasetFixture, grantFixture, passportFixture, spawnService, startFerret, startNats, type FerretFixture, type NatsFixture, type ServiceProcess } from '@fedledger/testing';

/**
 * The ledger-indexer's REST queries under hostile input (property-based, fast-check), against a real indexer process
 * following a real embedded ledger into a real FerretDB: random and near-miss paths, ids and query strings are
 * answered 2xx or 4xx (never 5xx), a 4xx carries a JSON message naming the parameter and the reason, no body shows a
 * stack trace, query objects (`?owner[$ne]=x`) never reach MongoDB as operators, and the service stays healthy.
 */
let nats: NatsFixture;
let ferret: FerretFixture;
let root: string;
let ledger: EmbeddedLedger;
let indexer: ServiceProcess;
let host = '';
let port = 0;

/** The query fields of GET /passports that filter the cache. */
const FILTERS = ['owner', 'status', 'dataset', 'trainingType', 'q'] as const;
/** Every query parameter GET /passports knows. */
const PARAMS = [...FILTERS, 'limit', 'skip'] as const;

interface Answer {
  status: number;
  contentType: string;
  text: string;
  /** The body as JSON, or undefined when it is not JSON (the HTML timeline). */
  json: unknown;
}

/** A path as the request line carries it: characters HTTP cannot carry there percent-encoded (UTF-8), `#` too. */
const onTheWire = (rawPath: string) => rawPath.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c)).replace(/#/g, '%23');

/** What the router makes of a path segment (itself when it is not valid percent-encoding). */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * GET with the path sent byte for byte as given (node:http, not fetch: fetch would resolve `..` and re-encode `%`
 * before the service sees them). Characters HTTP cannot carry in a request line are percent-encoded (UTF-8).
 */
function get(rawPath: string): Promise<Answer> {
  const wire = onTheWire(rawPath);
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: wire, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined; // an HTML page, or a body that is not JSON (a finding the checks report)
        }
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${wire}: no answer within 10 s`)));
    req.on('error', reject);
  });
}

const STACK_TRACE = /\n\s+at \S|\bat (?:async )?\S+ \(|node_modules|\.[jt]s:\d+:\d+/;

/**
 * What is wrong with an answer, as sentences (empty when it is sound): not 2xx/4xx, a stack trace, or a 4xx
 * without a JSON body whose message says what was refused (`names`: one of these must appear in it).
 */
function problemsOf(a: Answer, names: string[] = []): string[] {
  const problems: string[] = [];
  if (!((a.status >= 200 && a.status < 300) || (a.status >= 400 && a.status < 500))) problems.push(`status ${a.status}`);
  if (STACK_TRACE.test(a.text)) problems.push('a stack trace in the body');
  if (a.status >= 400) {
    const message = (a.json as { message?: unknown } | undefined)?.message;
    if (!a.contentType.startsWith('application/json')) problems.push(`a ${a.status} answered as ${a.contentType || 'no content type'}, not JSON`);
    if (typeof message !== 'string' || message.trim() === '') problems.push(`a ${a.status} without a message`);
    else if (names.length > 0 && !names.some((n) => message.includes(n))) problems.push(`the message does not name ${names.join(' or ')}: ${message}`);
  }
  return problems;
}

/** The answer and its problems together, so a failing property prints the request, the answer and what is wrong. */
function verdict(request: string, a: Answer, names: string[] = []): { request: string; status: number; body: string; problems: string[] } {
  return { request, status: a.status, body: a.text.slice(0, 400), problems: problemsOf(a, names) };
}
const sound = (v: ReturnType<typeof verdict>) => ({ ...v, problems: [] });

interface Passport {
  id: string;
  owner?: { mspId?: string };
  status?: string;
  trainingType?: string;
  description?: string;
  datasets?: { datasetId: string }[];
}

/** Whether a passport answered for `?<field>=<value>` matches the value taken literally (not as an operator). */
function matchesLiterally(p: Passport, field: (typeof FILTERS)[number], value: string): boolean {
  switch (field) {
    case 'owner':
      return p.owner?.mspId === value;
    case 'status':
      return p.status === value;
    case 'trainingType':
      return p.trainingType === value;
    case 'dataset':
      return (p.datasets ?? []).some((d) => d.datasetId === value);
    case 'q':
      return (p.description ?? '').toLowerCase().includes(value.toLowerCase());
  }
}

beforeAll(async () => {
  [nats, ferret] = await Promise.all([startNats(), startFerret()]);
  root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-indexer-hostile-'));
  const ids = path.join(root, 'identities');
  const ledgerDir = path.join(root, 'ledger');
  await initOrganisations(ids);
  const dev = await addIdentity(ids, { org: 'ub', user: 'dev-1', role: 'developer' });
  const steward = await addIdentity(ids, { org: 'inbreast', user: 'steward', role: 'centre' });
  ledger = openLocalLedger({ ledgerDir, identityDir: ids, holder: 'the hostile-queries test' });
  // The smallest cache that has something to leak: a dataset, two passports on it (one granted), one of them ACTIVE.
  await ledger.submit(steward, 'dataset:Register', [JSON.stringify(datasetFixture('ds-a'))]);
  const onDataset = { datasets: [{ datasetId: 'ds-a', role: 'train', centre: 'inbreast' }] };
  await ledger.submit(dev, 'passport:Create', [JSON.stringify(passportFixture('p-a', { description: 'Lesion classifier', ...onDataset }))]);
  await ledger.submit(dev, 'passport:Create', [JSON.stringify(passportFixture('p-b', { description: 'Density grading', ...onDataset }))]);
  await ledger.submit(dev, 'passport:SetStatus', ['p-b', 'ACTIVE', 'validated']);
  await ledger.submit(steward, 'dataset:Grant', ['ds-a', JSON.stringify(grantFixture('p-a'))]);

  indexer = spawnService('ledger-indexer', nats.url, { HTTP_PORT: '0', MONGO_URL: ferret.uri, MONGO_DB: 'cache', LEDGER_DIR: ledgerDir, IDENTITY_DIR: ids, LOG_LEVEL: 'warn' });
  const url = new URL(String((await indexer.ready()).http));
  host = url.hostname;
  port = Number(url.port);
  // Until the cache holds all of it.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const passports = await get('/passports');
    const dataset = await get('/datasets/ds-a');
    const p = passports.json as { total?: number } | undefined;
    const d = dataset.json as { live?: unknown[] } | undefined;
    const active = ((await get('/passports?status=ACTIVE')).json as { total?: number } | undefined)?.total;
    if (p?.total === 2 && d?.live?.length === 1 && active === 1) break;
    if (Date.now() > deadline) throw new Error(`the indexer did not index the fixture within 30 s:\n${indexer.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 90_000);

afterAll(async () => {
  await indexer?.stop();
  await ledger?.close();
  await Promise.all([nats?.stop(), ferret?.stop()]);
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Ids an attacker would try: traversal, NUL, broken escapes, regex and Mongo syntax, unicode, very long. */
const hostileId = fc.oneof(
  fc.constantFrom('p-a', 'p-b', 'ds-a', '..', '../..', '%2e%2e', '.', '%00', 'p-a%00', '%', '%zz', '%E0%A4%A', '%ff', '%2F', 'p-a%2F..%2F..', '{"$gt":""}', '{"$ne":null}', '[$ne]', '.*', '^p-', 'p-.', '(a+)+$', '$where', 'p-a\\', '<script>alert(1)</script>', "'; DROP", 'p-a/timeline', 'ü', '🦄', '\u202e', 'x'.repeat(5_000), 'p'.repeat(10_000)),
  fc.string({ maxLength: 40 }),
  fc.fullUnicodeString({ maxLength: 20 }),
  fc.stringOf(fc.constantFrom('.', '/', '%', '$', '{', '}', '[', ']', '*', '+', '?', '(', ')', '|', '^', '\\', ':', '"', '0', 'a', '-'), { maxLength: 16 }),
);
/** An id as it goes into the path: percent-encoded (the router decodes it), or raw (the router sees `..`, `%`, `/` as sent). */
const idInPath = fc.tuple(hostileId, fc.boolean()).map(([id, raw]) => ({ id, segment: raw ? id : encodeURIComponent(id) }));

const ROUTES = ['/passports/:id/timeline', '/passports/:id/timeline.html', '/datasets/:id', '/audit/passports/:id', '/passports/:id', '/passports/:id/timeline.json', '/datasets/:id/grants', '/audit/:id'];

/** One query parameter name: a known one, a known one with brackets (an object or array under a qs parser), or anything. */
const queryKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PARAMS) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...PARAMS), fc.constantFrom('[$ne]', '[$gt]', '[$regex]', '[$where]', '[$exists]', '[]', '[0]', '[a][b]', '[__proto__]')).map(([k, b]) => k + b) },
  { weight: 1, arbitrary: fc.constantFrom('cursor', 'bookmark', 'page', 'pageSize', 'sort', '$where', '__proto__', 'constructor', 'owner.mspId', 'OWNER', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const queryValue = fc.oneof(
  fc.constantFrom('UBMSP', 'ACTIVE', 'DRAFT', 'FEDERATED', 'ds-a', 'lesion', '', '0', '1', '-1', 'NaN', 'Infinity', '-Infinity', '1e3', '1e9', '1e308', '9007199254740993', '0x10', ' 5', '5 ', '1.5', '00000000001', 'null', 'true', '.*', '{"$gt":""}', '%00', 'a'.repeat(300)),
  fc.integer().map(String),
  fc.double().map(String),
  fc.string({ maxLength: 30 }),
  fc.fullUnicodeString({ maxLength: 10 }),
);
/** A query string: a few parameters, sometimes one repeated (an array under both Express parsers), keys encoded or raw. */
const queryString = fc
  .tuple(fc.array(fc.tuple(queryKey, queryValue, fc.boolean()), { maxLength: 4 }), fc.boolean())
  .map(([pairs, repeatFirst]) => {
    const all = repeatFirst && pairs.length > 0 ? [...pairs, pairs[0]!] : pairs;
    // Raw keys keep their brackets and `$` as a browser would send them; only what would split or garble the query is encoded.
    const text = all.map(([k, v, raw]) => `${raw ? k.replace(/[&=#%+]/g, encodeURIComponent) : encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    return { pairs: all.map(([k, v]) => [k, v] as const), text };
  });

describe('ledger-indexer REST under hostile input', () => {
  it('answers random and near-miss paths and ids with 2xx or a 4xx naming what it refused, never a 5xx or a stack trace (property-based)', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), idInPath, async (route, { id, segment }) => {
        const request = route.replace(':id', () => segment);
        const a = await get(request);
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        // A refusal names what it refused: the id (as sent, decoded or on the wire), the path, or the parameter `id`;
        // a raw '/', '?' or '#' in the id makes another path or a query, whose refusal names a piece of it.
        const pieces = /[/?#]/.test(segment) ? request.split(/[/?&=#]/).filter(Boolean) : [];
        const names = [id, segment, onTheWire(request), 'path: id', ...pieces].flatMap((n) => [n, decoded(n), onTheWire(n)]);
        expect(verdict(request, a, names)).toEqual(sound(verdict(request, a, names)));
        // A hit is only ever the passport or dataset asked for, never a match by pattern (a segment that is empty or
        // holds '/', '?' or '#' is another route, e.g. the list).
        if (a.status !== 200 || segment === '' || /[/?#]/.test(segment)) return;
        const asked = decoded(segment);
        if (route === '/passports/:id/timeline') expect((a.json as { passport: Passport }).passport.id).toBe(asked);
        if (route === '/passports/:id/timeline.html') expect(a.text).toContain(`<code>${asked}</code>`);
        if (route === '/datasets/:id') expect((a.json as { dataset: { id: string } }).dataset.id).toBe(asked);
        if (route === '/audit/passports/:id') expect(a.json).toMatchObject({ passportId: asked, ok: true });
      }),
      { numRuns: 200 },
    );
    // Wholly random paths as well (fast-check's web paths, with and without a known prefix).
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('', '/passports', '/datasets', '/audit', '/audit/passports'), fc.webPath(), async (prefix, tail) => {
        const request = `${prefix}${tail.startsWith('/') || tail === '' ? tail : `/${tail}`}` || '/';
        const a = await get(request);
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        expect(verdict(request, a)).toEqual(sound(verdict(request, a)));
      }),
      { numRuns: 100 },
    );
    // The properties ran into both answers: some ids were refused and some paths found something.
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
    expect(statuses.get(200)).toBeGreaterThan(0);
    const health = await get('/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'ok' });
  }, 120_000);

  it('answers random query strings with 2xx or a 4xx naming the parameter, and a 2xx matches its filters literally (property-based)', async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/passports', '/datasets'), queryString, async (route, { pairs, text }) => {
        const request = `${route}?${text}`;
        const a = await get(request);
        // A refusal names a parameter sent: `query.<name>: <reason>`, or `'<name>'` among the unknown ones.
        const names = pairs.flatMap(([k]) => [`query.${k.replace(/\[.*$/, '')}:`, `'${k}'`]);
        expect(verdict(request, a, names)).toEqual(sound(verdict(request, a, names)));
        if (a.status >= 400) refused += 1;
        if (a.status !== 200 || route !== '/passports') return;
        // Answered: then every filter was one plain string, and every passport matches it as a literal.
        const { passports, total } = a.json as { passports: Passport[]; total: number };
        expect(passports.length).toBeLessThanOrEqual(total);
        for (const [key, value] of pairs) {
          const field = FILTERS.find((f) => f === key);
          if (field && value !== '') for (const p of passports) expect({ request, passport: p.id, matches: matchesLiterally(p, field, value) }).toEqual({ request, passport: p.id, matches: true });
        }
      }),
      { numRuns: 250 },
    );
    expect(refused).toBeGreaterThan(0);
    expect((await get('/health')).status).toBe(200);
  }, 120_000);

  it('refuses a request line over the HTTP header limit before the application sees it, and stays healthy', async () => {
    // Node's HTTP parser answers 431 past 16 KiB of request line and headers; when it closes the socket while the
    // client is still writing, the client sees the connection reset instead. Either way: refused, nothing crashed.
    const answer = await get(`/passports/${'p'.repeat(100_000)}/timeline`).then(
      (a) => a.status,
      (err: NodeJS.ErrnoException) => err.code,
    );
    expect([431, 'ECONNRESET', 'EPIPE']).toContain(answer);
    expect((await get('/health')).status).toBe(200);
  });

  it('audits a known passport, refuses an id that is not one with a 400 naming `id`, and answers an unknown one 404', async () => {
    const known = await get('/audit/passports/p-a');
    expect(known.status).toBe(200);
    expect(known.json).toMatchObject({ passportId: 'p-a', ok: true, checked: { versions: 1 } });
    for (const id of ['..', '%20', '%25', '-a', '.hidden', 'a'.repeat(129), encodeURIComponent('{"$gt":""}'), encodeURIComponent('🦄')]) {
      const request = `/audit/passports/${id}`;
      const a = await get(request);
      expect(verdict(request, a, ['path: id'])).toEqual(sound(verdict(request, a, ['path: id'])));
      expect({ request, status: a.status, message: (a.json as { message?: string }).message }).toEqual({ request, status: 400, message: expect.stringContaining('id must be a passport id') });
    }
    const unknown = await get('/audit/passports/p-nowhere');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ message: 'neither the cache nor the ledger has passport p-nowhere' });
  });

  it.each(FILTERS)('does not let ?%s[$op]=… reach MongoDB as an operator: a 400 naming the parameter, never every passport', async (field) => {
    for (const q of [`${field}[$ne]=nobody`, `${field}%5B%24ne%5D=nobody`, `${field}[$gt]=`, `${field}[$regex]=.*`, `${field}[$exists]=true`, `${field}[]=UBMSP`, `${field}=nobody&${field}=UBMSP`]) {
      const request = `/passports?${q}`;
      const a = await get(request);
      expect(verdict(request, a, [field])).toEqual(sound(verdict(request, a, [field])));
      const total = (a.json as { total?: number }).total;
      // Refused with the reason, or taken as a literal that matches nothing: either way no passport leaks.
      expect({ request, status: a.status, total }).toEqual(a.status === 400 ? { request, status: 400, total: undefined } : { request, status: 200, total: 0 });
      if (a.status === 400) expect((a.json as { message: string }).message).toMatch(new RegExp(`query(\\.${field}: |: Unrecognized key\\(s\\) in object: '${field.replace(/[[\]$]/g, '\\$&')})`));
    }
    // The same text as a plain value is a literal: it matches nothing.
    const literal = await get(`/passports?${field}=${encodeURIComponent('{"$ne":"nobody"}')}`);
    expect(literal.status === 200 ? (literal.json as { total: number }).total : literal.status).toBe(field === 'status' || field === 'trainingType' ? 400 : 0);
  });

  it('refuses out-of-range, non-numeric and unknown paging parameters with a 400 naming the parameter and the reason', async () => {
    const cases: [string, string, RegExp][] = [
      ['limit=1e9', 'limit', /query\.limit: Number must be less than or equal to 1000/],
      ['limit=0', 'limit', /query\.limit: Number must be greater than or equal to 1/],
      ['limit=-5', 'limit', /query\.limit: Number must be greater than or equal to 1/],
      ['limit=NaN', 'limit', /query\.limit: Expected number, received nan/],
      ['limit=1.5', 'limit', /query\.limit: Expected integer, received float/],
      ['skip=-1', 'skip', /query\.skip: Number must be greater than or equal to 0/],
      ['skip=abc', 'skip', /query\.skip: Expected number, received nan/],
      ['skip=1e308', 'skip', /query\.skip: Number must be less than or equal to 9007199254740991/],
      ['skip=9007199254740993', 'skip', /query\.skip: Number must be less than or equal to 9007199254740991/],
      ['skip=Infinity', 'skip', /query\.skip: /],
      ['cursor=abc', 'cursor', /query: Unrecognized key\(s\) in object: 'cursor'/],
      ['limit=1&limit=2', 'limit', /query\.limit: /],
    ];
    for (const route of ['/passports', '/datasets']) {
      for (const [q, name, reason] of cases) {
        const request = `${route}?${q}`;
        const a = await get(request);
        expect(verdict(request, a, [name])).toEqual(sound(verdict(request, a, [name])));
        expect({ request, status: a.status, message: (a.json as { message?: string }).message }).toEqual({ request, status: 400, message: expect.stringMatching(reason) });
      }
    }
    // Paging within range still answers.
    expect(((await get('/passports?limit=1&skip=1')).json as { passports: Passport[] }).passports.map((p) => p.id)).toEqual(['p-b']);
    expect((await get('/health')).status).toBe(200);
    expect(indexer.output()).not.toMatch(/unhandled rejection/);
  });
});
