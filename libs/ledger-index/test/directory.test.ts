import fc from 'fast-check';
import { PassportDirectory, type ListedPassport, type PassportFilter } from '../src/directory';

const OWNERS = ['UBMSP', 'INBREASTMSP', 'BCDRMSP'];
const STATUSES = ['DRAFT', 'ACTIVE', 'REVOKED'];
const TYPES = ['FEDERATED', 'CENTRALISED'];
const DATASETS = ['ds-a', 'ds-b', 'ds-c'];
const WORDS = ['Lesion', 'density', 'DENSE', 'classifier', 'ünïcode', 'a.b*c'];

const passport = fc.record({
  id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,6}$/),
  owner: fc.record({ mspId: fc.constantFrom(...OWNERS) }),
  status: fc.constantFrom(...STATUSES),
  trainingType: fc.constantFrom(...TYPES),
  datasets: fc.uniqueArray(fc.constantFrom(...DATASETS), { maxLength: 3 }).map((ids) => ids.map((datasetId) => ({ datasetId }))),
  description: fc.array(fc.constantFrom(...WORDS), { maxLength: 4 }).map((w) => w.join(' ')),
});

const filter: fc.Arbitrary<PassportFilter> = fc.record(
  {
    owner: fc.constantFrom(...OWNERS, 'NOMSP'),
    status: fc.constantFrom(...STATUSES),
    trainingType: fc.constantFrom(...TYPES),
    dataset: fc.constantFrom(...DATASETS, 'ds-z'),
    text: fc.constantFrom('lesion', 'Dense', 'ÜNÏ', 'a.b*', 'nothing'),
    limit: fc.integer({ min: 1, max: 30 }),
    skip: fc.integer({ min: 0, max: 40 }),
  },
  { requiredKeys: [] },
);

function latestOf(writes: { passport: ListedPassport; pos: number }[], id: string): ListedPassport {
  let best: { passport: ListedPassport; pos: number } | undefined;
  for (const w of writes) if (w.passport.id === id && (!best || best.pos < w.pos)) best = w;
  return best!.passport;
}

/** What the cache would answer: the latest write of each passport by position, filtered, in `_id` order, paged. */
function reference(writes: { passport: ListedPassport; pos: number }[], f: PassportFilter): { total: number; ids: string[] } {
  const latest = new Map<string, { passport: ListedPassport; pos: number }>();
  for (const w of writes) if ((latest.get(w.passport.id)?.pos ?? -1) < w.pos) latest.set(w.passport.id, w);
  const matching = [...latest.values()]
    .map((w) => w.passport)
    .filter(
      (p) =>
        (!f.owner || p.owner?.mspId === f.owner) &&
        (!f.status || p.status === f.status) &&
        (!f.trainingType || p.trainingType === f.trainingType) &&
        (!f.dataset || (p.datasets ?? []).some((d) => d.datasetId === f.dataset)) &&
        (!f.text || (p.description ?? '').toLowerCase().includes(f.text.toLowerCase())),
    )
    .map((p) => p.id)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const skip = f.skip ?? 0;
  return { total: matching.length, ids: matching.slice(skip, skip + Math.min(f.limit ?? 100, 1000)) };
}

describe('PassportDirectory', () => {
  it('answers every filter as the cache would: the latest version of each passport by ledger position, in id order, with the total and the page (property-based)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ passport, pos: fc.integer({ min: 0, max: 50 }) }), { maxLength: 60 }), fc.array(filter, { minLength: 1, maxLength: 5 }), (writes, filters) => {
        const directory = new PassportDirectory();
        for (const w of writes) directory.put(w.passport, w.pos);
        for (const f of filters) {
          const expected = reference(writes, f);
          expect(directory.query(f)).toEqual(expected);
          // The whole record of each, as last written.
          expect(directory.find(f)).toEqual({ total: expected.total, passports: expected.ids.map((id) => latestOf(writes, id)) });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a passport at its latest position: an older write, or a replayed one, changes nothing', () => {
    const directory = new PassportDirectory();
    const p = { id: 'p-1', owner: { mspId: 'UBMSP' }, status: 'DRAFT', trainingType: 'FEDERATED', datasets: [], description: 'first' };
    directory.put({ ...p, status: 'ACTIVE' }, 20);
    directory.put(p, 10);
    directory.put({ ...p, status: 'REVOKED' }, 20);
    expect(directory.query({ status: 'ACTIVE' })).toEqual({ total: 1, ids: ['p-1'] });
    expect(directory.query({ status: 'DRAFT' })).toEqual({ total: 0, ids: [] });
    directory.put({ ...p, status: 'DEPRECATED' }, 21);
    expect(directory.query({ status: 'DEPRECATED' }).ids).toEqual(['p-1']);
    expect(directory.size).toBe(1);
  });

  it('orders ids by code unit, as MongoDB orders string _ids (upper case before lower case, digits before letters)', () => {
    const directory = new PassportDirectory();
    for (const id of ['b', 'B', 'a-2', 'a-10', '9z', 'a_1']) directory.put({ id }, 1);
    expect(directory.query({}).ids).toEqual(['9z', 'B', 'a-10', 'a-2', 'a_1', 'b']);
  });
});
