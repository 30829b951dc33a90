import { canonicalJson, type Dataset, type Grant } from '../src';
import { centre, dev1, otherCentre, setup } from './support/fixtures';
import type { MemoryIdentity } from './support/memory-ledger';

const parse = <T>(s: string) => JSON.parse(s) as T;

describe('DatasetContract', () => {
  let t: ReturnType<typeof setup>;
  const datasetInput = (extra: Record<string, unknown> = {}) => ({
    id: 'ds-hcl',
    description: 'Chest CT, 2019–2024',
    modality: 'CT',
    size: 1200,
    usagePolicy: { allowedPurposes: ['training', 'evaluation'], allowedOrganisations: ['UB', 'CHU'], expiresAt: '2027-01-01T00:00:00Z' },
    ...extra,
  });
  const register = (input: unknown = datasetInput(), who: MemoryIdentity = centre) =>
    t.ledger.submit(who, (ctx) => t.datasets.Register(ctx, JSON.stringify(input))).then((s) => parse<Dataset>(s));
  const grantInput = { subject: 'p-17', organisation: 'UB', purpose: 'training', expiresAt: '2026-03-01T10:00:00Z' };
  const grant = (input: unknown = grantInput, who: MemoryIdentity = centre) =>
    t.ledger.submit(who, (ctx) => t.datasets.Grant(ctx, 'ds-hcl', JSON.stringify(input))).then((s) => parse<Grant>(s));
  const check = (purpose = '') =>
    t.ledger
      .evaluate(dev1, (ctx) => t.datasets.CheckGrant(ctx, 'ds-hcl', 'p-17', purpose))
      .then((s) => parse<{ live: boolean; reason: string }>(s));

  beforeEach(() => {
    t = setup();
  });

  it('lets a centre register a dataset it then owns', async () => {
    const d = await register();
    expect(d).toMatchObject({ id: 'ds-hcl', owner: { mspId: 'HCL', commonName: 'centre-hcl' }, size: 1200, createdTxId: 'tx-0001' });
    expect(d.usagePolicy.expiresAt).toBe('2027-01-01T00:00:00.000Z');
    expect(parse(await t.ledger.evaluate(dev1, (ctx) => t.datasets.Read(ctx, 'ds-hcl')))).toEqual(d);
    expect(t.ledger.lastEvents()).toEqual([
      { txId: 'tx-0001', name: 'DatasetRegistered', payload: { datasetId: 'ds-hcl', owner: 'HCL/centre-hcl', txId: 'tx-0001' } },
    ]);
  });

  it('refuses a non-centre, a duplicate, a missing dataset and invalid input', async () => {
    await expect(register(datasetInput(), dev1)).rejects.toThrow('registering a dataset needs role centre, caller UB/dev-1 has role developer');
    await register();
    await expect(register()).rejects.toThrow('dataset ds-hcl already exists');
    await expect(t.ledger.evaluate(dev1, (ctx) => t.datasets.Read(ctx, 'ds-x'))).rejects.toThrow('dataset ds-x does not exist');
    await expect(register(datasetInput({ id: 'ds-2', size: -1 }))).rejects.toThrow('dataset.size must be an integer >= 1');
    await expect(register(datasetInput({ id: 'ds-2', usagePolicy: { ...datasetInput().usagePolicy, expiresAt: 'soon' } }))).rejects.toThrow(
      'dataset.usagePolicy.expiresAt must be a UTC time',
    );
    await expect(register(datasetInput({ id: 'ds-2', usagePolicy: { ...datasetInput().usagePolicy, expiresAt: '2020-01-01T00:00:00Z' } }))).rejects.toThrow(
      'is not after now',
    );
    await expect(register(datasetInput({ id: 'ds-2', usagePolicy: { ...datasetInput().usagePolicy, allowedPurposes: [] } }))).rejects.toThrow(
      'dataset.usagePolicy.allowedPurposes must have at least 1 item(s)',
    );
  });

  describe('grants', () => {
    beforeEach(() => register());

    it('a grant is live until it expires', async () => {
      const g = await grant();
      expect(g).toMatchObject({ status: 'GRANTED', grantedBy: 'HCL/centre-hcl', expiresAt: '2026-03-01T10:00:00.000Z' });
      expect(t.ledger.lastEvents()[0]).toMatchObject({ name: 'GrantIssued', payload: { subject: 'p-17', purpose: 'training' } });
      expect(await check()).toMatchObject({ live: true, reason: 'granted for training until 2026-03-01T10:00:00.000Z' });
      expect(await check('evaluation')).toMatchObject({ live: false, reason: 'the grant is for training, not evaluation' });
      t.ledger.clock = Date.parse('2026-03-01T10:00:00Z') / 1000;
      expect(await check()).toMatchObject({ live: false, reason: 'the grant expired at 2026-03-01T10:00:00.000Z' });
    });

    it('a revoked or missing grant is not live', async () => {
      expect(await check()).toMatchObject({ live: false, reason: 'dataset ds-hcl has no grant for p-17' });
      await grant();
      await t.ledger.submit(centre, (ctx) => t.datasets.RevokeGrant(ctx, 'ds-hcl', 'p-17'));
      expect(t.ledger.lastEvents()[0]).toMatchObject({ name: 'GrantRevoked' });
      expect(await check()).toMatchObject({ live: false, reason: 'the grant was revoked at 2026-03-01T09:03:00.000Z' });
      await expect(t.ledger.submit(centre, (ctx) => t.datasets.RevokeGrant(ctx, 'ds-hcl', 'p-17'))).rejects.toThrow('is already revoked');
      await expect(t.ledger.submit(centre, (ctx) => t.datasets.RevokeGrant(ctx, 'ds-hcl', 'p-9'))).rejects.toThrow('dataset ds-hcl has no grant for p-9');
    });

    it('a grant is not live once the usage policy has expired', async () => {
      await grant({ ...grantInput, expiresAt: '2027-01-01T00:00:00Z' });
      t.ledger.clock = Date.parse('2026-12-31T23:59:00Z') / 1000;
      expect((await check()).live).toBe(true);
      t.ledger.clock = Date.parse('2027-01-01T00:00:00Z') / 1000;
      expect(await check()).toMatchObject({ live: false, reason: 'the grant expired at 2027-01-01T00:00:00.000Z' });
    });

    it('refuses a grant or revocation by anyone but the dataset owner', async () => {
      await expect(grant(grantInput, otherCentre)).rejects.toThrow('dataset ds-hcl is owned by HCL/centre-hcl, caller is CHU/centre-chu');
      await grant();
      await expect(t.ledger.submit(dev1, (ctx) => t.datasets.RevokeGrant(ctx, 'ds-hcl', 'p-17'))).rejects.toThrow(
        'dataset ds-hcl is owned by HCL/centre-hcl, caller is UB/dev-1',
      );
    });

    it.each([
      [{ ...grantInput, purpose: 'marketing' }, 'grant.purpose marketing is not allowed by dataset ds-hcl (allowed: training, evaluation)'],
      [{ ...grantInput, organisation: 'ACME' }, 'grant.organisation ACME is not allowed by dataset ds-hcl (allowed: UB, CHU)'],
      [{ ...grantInput, expiresAt: '2026-03-01T08:00:00Z' }, 'grant.expiresAt 2026-03-01T08:00:00.000Z is not after now'],
      [{ ...grantInput, expiresAt: '2028-01-01T00:00:00Z' }, 'is after the usage policy of dataset ds-hcl expires (2027-01-01T00:00:00.000Z)'],
      [{ ...grantInput, subject: '' }, 'grant.subject must be an identifier'],
      [{ ...grantInput, scope: 'all' }, 'grant.scope is not a known field'],
    ])('refuses a grant outside the usage policy or malformed %#', async (input, message) => {
      await expect(grant(input)).rejects.toThrow(message);
    });

    it('refuses a grant on a missing dataset', async () => {
      await expect(t.ledger.submit(centre, (ctx) => t.datasets.Grant(ctx, 'ds-x', JSON.stringify(grantInput)))).rejects.toThrow('dataset ds-x does not exist');
    });
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  });
  it('refuses non-finite numbers', () => {
    expect(() => canonicalJson({ a: NaN })).toThrow('cannot serialise the number NaN');
  });
});
