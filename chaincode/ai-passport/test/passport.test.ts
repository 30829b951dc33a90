import type { Passport, Round } from '../src';
import { BY_DATASET, BY_OWNER, BY_STATUS } from '../src/passport-contract';
import { agg, auditor, dev1, dev2, digestOf, noRole, otherAgg, passportInput, setup } from './support/fixtures';
import type { MemoryIdentity } from './support/memory-ledger';

const parse = <T>(s: string) => JSON.parse(s) as T;

describe('PassportContract', () => {
  let t: ReturnType<typeof setup>;
  const create = (who: MemoryIdentity = dev1, input: unknown = passportInput()) =>
    t.ledger.submit(who, (ctx) => t.passports.Create(ctx, JSON.stringify(input))).then((s) => parse<Passport>(s));
  const read = (id = 'p-17') => t.ledger.evaluate(dev2, (ctx) => t.passports.Read(ctx, id)).then((s) => parse<Passport>(s));
  const update = (version: number, changes: unknown, who: MemoryIdentity = dev1) =>
    t.ledger.submit(who, (ctx) => t.passports.Update(ctx, 'p-17', version, JSON.stringify(changes))).then((s) => parse<Passport>(s));
  const setStatus = (status: string, who: MemoryIdentity = dev1) =>
    t.ledger.submit(who, (ctx) => t.passports.SetStatus(ctx, 'p-17', status, ''));
  const round = (n: number, previous: string | null, who: MemoryIdentity = agg) =>
    t.ledger
      .submit(who, (ctx) =>
        t.passports.AddRound(
          ctx,
          'p-17',
          JSON.stringify({
            roundNumber: n,
            previousRoundDigest: previous,
            participants: [
              { centre: 'HCL', updateDigest: digestOf('a'), numExamples: 120 },
              { centre: 'CHU', updateDigest: digestOf('b'), numExamples: 80 },
            ],
            aggregateDigest: digestOf(String(n % 10)),
            metrics: [{ name: 'loss', value: 1 / n }],
          }),
        ),
      )
      .then((s) => parse<Round>(s));

  beforeEach(() => {
    t = setup();
  });

  describe('Create and Read', () => {
    it('stores a DRAFT passport owned by the caller, as canonical JSON with tx id and time', async () => {
      const p = await create();
      expect(p).toMatchObject({
        id: 'p-17',
        schemaVersion: '1.0',
        version: 1,
        status: 'DRAFT',
        owner: { mspId: 'UB', commonName: 'dev-1', clientId: dev1.getID() },
        trainingType: 'FEDERATED',
        artifactDigest: null,
        roundCount: 0,
        createdTxId: 'tx-0001',
        updatedTxId: 'tx-0001',
        createdAt: '2026-03-01T09:00:00.000Z',
      });
      const stored = Buffer.from([...t.ledger.state.values()].find((v) => v.length > 1)!).toString('utf8');
      const keys = Object.keys(JSON.parse(stored));
      expect(keys).toEqual([...keys].sort());
      expect(await read()).toEqual(p);
      expect(t.ledger.lastEvents()).toEqual([
        { txId: 'tx-0001', name: 'PassportCreated', payload: { id: 'p-17', owner: 'UB/dev-1', txId: 'tx-0001', version: 1 } },
      ]);
    });

    it('maintains the owner, dataset and status indexes', async () => {
      await create();
      expect(t.ledger.hasKey(BY_OWNER, ['UB', dev1.getID(), 'p-17'])).toBe(true);
      expect(t.ledger.hasKey(BY_STATUS, ['DRAFT', 'p-17'])).toBe(true);
      expect(t.ledger.hasKey(BY_DATASET, ['ds-hcl', 'p-17'])).toBe(true);
      expect(t.ledger.hasKey(BY_DATASET, ['ds-chu', 'p-17'])).toBe(true);
    });

    it('refuses a caller without role developer, a duplicate id and a missing passport', async () => {
      await expect(create(noRole)).rejects.toThrow('creating a passport needs role developer, caller UB/nobody has no role');
      await expect(create(agg)).rejects.toThrow('caller UB/agg-1 has role aggregator');
      await create();
      await expect(create()).rejects.toThrow('passport p-17 already exists');
      await expect(read('p-99')).rejects.toThrow('passport p-99 does not exist');
    });

    it.each([
      ['not JSON', 'argument passport is not valid JSON'],
      [{ ...passportInput(), id: 'bad id!' }, 'passport.id must be an identifier'],
      [{ ...passportInput(), description: '' }, 'passport.description must be a non-empty string'],
      [{ ...passportInput(), model: { ...passportInput().model, name: undefined } }, 'passport.model.name must be a non-empty string'],
      [{ ...passportInput(), model: { ...passportInput().model, colour: 'red' } }, 'passport.model.colour is not a known field'],
      [{ ...passportInput(), intendedUse: { primaryUses: [], primaryUsers: ['x'] } }, 'passport.intendedUse.primaryUses must have at least 1 item(s)'],
      [{ ...passportInput(), trainingType: 'MAGIC' }, 'passport.trainingType must be one of FEDERATED, CENTRALISED, TRANSFER, FINE_TUNED'],
      [{ ...passportInput(), datasets: [{ datasetId: 'd', role: 'tune', centre: 'X' }] }, 'passport.datasets[0].role must be one of train, validation, test'],
      [{ ...passportInput(), datasets: [{ datasetId: 'd', role: 'train', centre: 'X' }, { datasetId: 'd', role: 'train', centre: 'X' }] }, 'lists dataset d as train twice'],
      [{ ...passportInput(), aggregators: ['agg-1'] }, "passport.aggregators[0] must be 'MSPID/name'"],
      [{ ...passportInput(), status: 'ACTIVE' }, 'passport.status is not a known field'],
    ])('refuses invalid input %#', async (input, message) => {
      await expect(
        t.ledger.submit(dev1, (ctx) => t.passports.Create(ctx, typeof input === 'string' ? input : JSON.stringify(input))),
      ).rejects.toThrow(message);
      expect(t.ledger.state.size).toBe(0);
    });
  });

  describe('Update', () => {
    beforeEach(() => create());

    it('lets the owner change mutable fields at the expected version, and moves the dataset index', async () => {
      const p = await update(1, { description: 'v2', datasets: [{ datasetId: 'ds-new', role: 'train', centre: 'UB' }] });
      expect(p).toMatchObject({ version: 2, description: 'v2', updatedTxId: 'tx-0002', createdTxId: 'tx-0001' });
      expect(t.ledger.hasKey(BY_DATASET, ['ds-hcl', 'p-17'])).toBe(false);
      expect(t.ledger.hasKey(BY_DATASET, ['ds-new', 'p-17'])).toBe(true);
      expect(t.ledger.lastEvents()[0]).toMatchObject({ name: 'PassportUpdated', payload: { fields: ['datasets', 'description'], version: 2 } });
    });

    it('refuses a stale expected version', async () => {
      await update(1, { description: 'v2' });
      await expect(update(1, { description: 'v3' })).rejects.toThrow('passport p-17 is at version 2, not the expected version 1');
    });

    it('refuses anyone but the owner, in plain words', async () => {
      await expect(update(1, { description: 'x' }, dev2)).rejects.toThrow('passport p-17 is owned by UB/dev-1, caller is UB/dev-2');
    });

    it.each([
      ['owner', 'field owner is immutable'],
      ['id', 'field id is immutable'],
      ['createdTxId', 'field createdTxId is immutable'],
      ['schemaVersion', 'field schemaVersion is immutable'],
      ['version', 'field version is set by the chaincode'],
      ['status', 'field status is changed by SetStatus'],
      ['metrics', 'field metrics is changed by RecordMetrics'],
      ['biases', 'field biases is changed by FlagBias and ResolveBias'],
      ['artifactDigest', 'field artifactDigest is changed by RecordArtifact'],
      ['lastRoundDigest', 'field lastRoundDigest is changed by AddRound'],
    ])('refuses a change of %s', async (field, message) => {
      await expect(update(1, { [field]: 'x' })).rejects.toThrow(message);
    });

    it('refuses unknown fields, empty changes and invalid values', async () => {
      await expect(update(1, { colour: 'red' })).rejects.toThrow('changes.colour is not a known field');
      await expect(update(1, {})).rejects.toThrow('changes must change at least one field');
      await expect(update(1, { trainingType: 'x' })).rejects.toThrow('changes.trainingType must be one of');
    });

    it('refuses changes to a REVOKED passport', async () => {
      await setStatus('REVOKED');
      await expect(update(2, { description: 'x' })).rejects.toThrow('passport p-17 is REVOKED and can no longer change');
    });
  });

  describe('SetStatus and History', () => {
    beforeEach(() => create());

    it('follows the lifecycle and moves the status index', async () => {
      for (const s of ['ACTIVE', 'SUSPENDED', 'ACTIVE', 'DEPRECATED', 'REVOKED']) await setStatus(s);
      expect((await read()).status).toBe('REVOKED');
      expect(t.ledger.hasKey(BY_STATUS, ['DRAFT', 'p-17'])).toBe(false);
      expect(t.ledger.hasKey(BY_STATUS, ['REVOKED', 'p-17'])).toBe(true);
      expect(t.ledger.lastEvents()[0]).toMatchObject({ name: 'PassportStatusChanged', payload: { from: 'DEPRECATED', to: 'REVOKED' } });
    });

    it('refuses a transition the lifecycle does not have, an unknown status and a non-owner', async () => {
      await expect(setStatus('SUSPENDED')).rejects.toThrow('passport p-17 cannot go from DRAFT to SUSPENDED');
      await expect(setStatus('GONE')).rejects.toThrow('status must be one of DRAFT, ACTIVE, SUSPENDED, DEPRECATED, REVOKED');
      await expect(setStatus('ACTIVE', dev2)).rejects.toThrow('owned by UB/dev-1, caller is UB/dev-2');
      await setStatus('REVOKED');
      await expect(setStatus('ACTIVE')).rejects.toThrow('cannot go from REVOKED to ACTIVE');
    });

    it('returns every version with its tx id and time, oldest first', async () => {
      await update(1, { description: 'v2' });
      await setStatus('ACTIVE');
      const history = parse<{ txId: string; timestamp: string; value: Passport }[]>(
        await t.ledger.evaluate(dev2, (ctx) => t.passports.History(ctx, 'p-17')),
      );
      expect(history.map((h) => [h.txId, h.timestamp, h.value.version])).toEqual([
        ['tx-0001', '2026-03-01T09:00:00.000Z', 1],
        ['tx-0002', '2026-03-01T09:01:00.000Z', 2],
        ['tx-0003', '2026-03-01T09:02:00.000Z', 3],
      ]);
      expect(history[2].value.status).toBe('ACTIVE');
      await expect(t.ledger.evaluate(dev2, (ctx) => t.passports.History(ctx, 'p-99'))).rejects.toThrow('does not exist');
    });
  });

  describe('AddRound and ListRounds', () => {
    beforeEach(() => create());

    it('chains rounds: number = previous + 1, each carrying the previous round digest', async () => {
      const r1 = await round(1, null);
      expect(r1).toMatchObject({ roundNumber: 1, previousRoundDigest: null, aggregator: 'UB/agg-1', txId: 'tx-0002' });
      expect(r1.roundDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const r2 = await round(2, r1.roundDigest);
      expect(r2.previousRoundDigest).toBe(r1.roundDigest);
      expect(await read()).toMatchObject({ roundCount: 2, lastRoundDigest: r2.roundDigest, version: 3 });
      expect(t.ledger.lastEvents()[0]).toMatchObject({ name: 'RoundAdded', payload: { roundNumber: 2, roundDigest: r2.roundDigest } });
    });

    it('reads one round by number, and names a round it does not have', async () => {
      const r1 = await round(1, null);
      const r2 = await round(2, r1.roundDigest);
      const readRound = (n: number) => t.ledger.evaluate(dev2, (ctx) => t.passports.ReadRound(ctx, 'p-17', n)).then((s) => parse<Round>(s));
      expect(await readRound(2)).toEqual(r2);
      expect(await readRound(1)).toEqual(r1);
      await expect(readRound(3)).rejects.toThrow('passport p-17 has no round 3 (it has 2)');
      await expect(readRound(0)).rejects.toThrow('roundNumber must be a positive integer, got 0');
    });

    it('refuses a wrong previous digest and a round number other than previous + 1', async () => {
      const r1 = await round(1, null);
      await expect(round(2, digestOf('f'))).rejects.toThrow(`round.previousRoundDigest must be ${r1.roundDigest}`);
      await expect(round(2, null)).rejects.toThrow('round.previousRoundDigest must be');
      await expect(round(3, r1.roundDigest)).rejects.toThrow('round.roundNumber must be 2 (the last round of passport p-17 is 1)');
      await expect(round(1, r1.roundDigest)).rejects.toThrow('round.roundNumber must be 2');
    });

    it('refuses the first round with a previous digest', async () => {
      await expect(round(1, digestOf('0'))).rejects.toThrow('round.previousRoundDigest must be null (the digest of round 0)');
    });

    it('accepts only an authorised aggregator identity with role aggregator', async () => {
      await expect(round(1, null, otherAgg)).rejects.toThrow('HCL/agg-2 is not an authorised aggregator of passport p-17');
      await expect(round(1, null, dev1)).rejects.toThrow('adding a round needs role aggregator, caller UB/dev-1 has role developer');
    });

    it('refuses rounds once the passport is neither DRAFT nor ACTIVE, and invalid rounds', async () => {
      await expect(
        t.ledger.submit(agg, (ctx) => t.passports.AddRound(ctx, 'p-17', JSON.stringify({ roundNumber: 1, previousRoundDigest: null, participants: [], aggregateDigest: digestOf('1') }))),
      ).rejects.toThrow('round.participants must have at least 1 item(s)');
      await expect(
        t.ledger.submit(agg, (ctx) =>
          t.passports.AddRound(ctx, 'p-17', JSON.stringify({ roundNumber: 1, previousRoundDigest: null, participants: [{ centre: 'A', updateDigest: 'md5:x', numExamples: 1 }], aggregateDigest: digestOf('1') })),
        ),
      ).rejects.toThrow("round.participants[0].updateDigest must be a digest 'sha256:'");
      await setStatus('ACTIVE');
      await setStatus('SUSPENDED');
      await expect(round(1, null)).rejects.toThrow('passport p-17 is SUSPENDED; rounds are added only while DRAFT or ACTIVE');
    });

    it('lists rounds in order across pages', async () => {
      let previous: string | null = null;
      for (let n = 1; n <= 12; n++) previous = (await round(n, previous)).roundDigest;
      const seen: number[] = [];
      let bookmark = '';
      let pages = 0;
      do {
        const page = parse<{ records: Round[]; bookmark: string; fetchedRecordsCount: number }>(
          await t.ledger.evaluate(dev2, (ctx) => t.passports.ListRounds(ctx, 'p-17', 5, bookmark)),
        );
        expect(page.fetchedRecordsCount).toBe(page.records.length);
        seen.push(...page.records.map((r) => r.roundNumber));
        bookmark = page.bookmark;
        pages++;
      } while (bookmark);
      expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(pages).toBe(3);
    });
  });

  describe('metrics, biases and artefacts', () => {
    beforeEach(() => create());
    const flag = (who: MemoryIdentity = auditor) =>
      t.ledger
        .submit(who, (ctx) => t.passports.FlagBias(ctx, 'p-17', JSON.stringify({ type: 'performance gap', affectedGroup: 'women over 70', severity: 'HIGH' })))
        .then((s) => parse<Passport>(s));
    const resolve = (who: MemoryIdentity = dev1, biasId = 'bias-1') =>
      t.ledger.submit(who, (ctx) => t.passports.ResolveBias(ctx, 'p-17', biasId, 'retrained with reweighting')).then((s) => parse<Passport>(s));
    const metrics = (value: unknown, who: MemoryIdentity = dev1) =>
      t.ledger.submit(who, (ctx) => t.passports.RecordMetrics(ctx, 'p-17', JSON.stringify(value))).then((s) => parse<Passport>(s));

    it('records metrics with an optional subgroup', async () => {
      const p = await metrics([
        { name: 'AUC', value: 0.91, dataset: 'ds-chu' },
        { name: 'AUC', value: 0.84, dataset: 'ds-chu', subgroup: 'age>70' },
      ]);
      expect(p.metrics).toEqual([
        { name: 'AUC', value: 0.91, dataset: 'ds-chu', recordedTxId: 'tx-0002', recordedAt: '2026-03-01T09:01:00.000Z' },
        { name: 'AUC', value: 0.84, dataset: 'ds-chu', subgroup: 'age>70', recordedTxId: 'tx-0002', recordedAt: '2026-03-01T09:01:00.000Z' },
      ]);
      expect(t.ledger.lastEvents()[0]).toMatchObject({ name: 'MetricsRecorded', payload: { names: ['AUC', 'AUC'] } });
    });

    it('refuses metrics from a non-owner and invalid metrics', async () => {
      await expect(metrics([{ name: 'AUC', value: 1, dataset: 'd' }], dev2)).rejects.toThrow('owned by UB/dev-1, caller is UB/dev-2');
      await expect(metrics([{ name: 'AUC', value: 'high', dataset: 'd' }])).rejects.toThrow('metrics[0].value must be a finite number');
      await expect(metrics([])).rejects.toThrow('metrics must have at least 1 item(s)');
      await expect(t.ledger.submit(dev1, (ctx) => t.passports.RecordMetrics(ctx, 'p-17', '{'))).rejects.toThrow('argument metrics is not valid JSON');
    });

    it('lets an auditor flag a bias and the owner resolve it', async () => {
      const flagged = await flag();
      expect(flagged.biases[0]).toMatchObject({ biasId: 'bias-1', status: 'OPEN', flaggedBy: 'AUDIT/aud-1', severity: 'HIGH', flaggedTxId: 'tx-0002' });
      expect(t.ledger.lastEvents()[0].name).toBe('BiasFlagged');
      const resolved = await resolve();
      expect(resolved.biases[0]).toMatchObject({ status: 'RESOLVED', resolution: 'retrained with reweighting', resolvedTxId: 'tx-0003' });
      expect(t.ledger.lastEvents()[0].name).toBe('BiasResolved');
    });

    it('refuses a bias flag by a non-auditor, and a resolution by a non-owner, of an unknown or resolved bias', async () => {
      await expect(flag(dev1)).rejects.toThrow('flagging a bias needs role auditor, caller UB/dev-1 has role developer');
      await flag();
      await expect(resolve(auditor)).rejects.toThrow('passport p-17 is owned by UB/dev-1, caller is AUDIT/aud-1');
      await expect(resolve(dev1, 'bias-9')).rejects.toThrow('passport p-17 has no bias bias-9');
      await resolve();
      await expect(resolve()).rejects.toThrow('bias bias-1 of passport p-17 is already RESOLVED');
      await expect(
        t.ledger.submit(auditor, (ctx) => t.passports.FlagBias(ctx, 'p-17', JSON.stringify({ type: 't', affectedGroup: 'g', severity: 'HUGE' }))),
      ).rejects.toThrow('bias.severity must be one of LOW, MEDIUM, HIGH, CRITICAL');
    });

    it('records the artefact digest and verifies digests read-only', async () => {
      const verify = (d: string) =>
        t.ledger.evaluate(dev2, (ctx) => t.passports.VerifyArtifact(ctx, 'p-17', d)).then((s) => parse<{ match: boolean }>(s));
      expect((await verify(digestOf('c'))).match).toBe(false);
      await t.ledger.submit(dev1, (ctx) => t.passports.RecordArtifact(ctx, 'p-17', digestOf('c')));
      expect(t.ledger.lastEvents()[0]).toMatchObject({ name: 'ArtifactRecorded', payload: { artifactDigest: digestOf('c') } });
      expect(await verify(digestOf('c'))).toMatchObject({ match: true, recordedDigest: digestOf('c'), version: 2 });
      expect((await verify(digestOf('d'))).match).toBe(false);
      await expect(verify('abc')).rejects.toThrow("artifactDigest must be a digest 'sha256:'");
    });

    it('lets an authorised aggregator record only the last round aggregate as the artefact', async () => {
      await expect(t.ledger.submit(agg, (ctx) => t.passports.RecordArtifact(ctx, 'p-17', digestOf('1')))).rejects.toThrow(
        'aggregator UB/agg-1 can record an artefact of passport p-17 only after a round; it has none',
      );
      const r1 = await round(1, null);
      await round(2, r1.roundDigest);
      await expect(t.ledger.submit(agg, (ctx) => t.passports.RecordArtifact(ctx, 'p-17', digestOf('1')))).rejects.toThrow(
        `aggregator UB/agg-1 may only record the aggregate of round 2 (${digestOf('2')}) as the artefact of passport p-17, got ${digestOf('1')}`,
      );
      await expect(t.ledger.submit(otherAgg, (ctx) => t.passports.RecordArtifact(ctx, 'p-17', digestOf('2')))).rejects.toThrow(
        'owned by UB/dev-1, caller is HCL/agg-2',
      );
      const p = parse<Passport>(await t.ledger.submit(agg, (ctx) => t.passports.RecordArtifact(ctx, 'p-17', digestOf('2'))));
      expect(p.artifactDigest).toBe(digestOf('2'));
      expect(t.ledger.lastEvents()[0]).toMatchObject({ name: 'ArtifactRecorded', payload: { artifactDigest: digestOf('2'), recordedBy: 'UB/agg-1' } });
    });

    it('refuses an artefact from a non-owner or with a malformed digest', async () => {
      await expect(t.ledger.submit(dev2, (ctx) => t.passports.RecordArtifact(ctx, 'p-17', digestOf('c')))).rejects.toThrow(
        'owned by UB/dev-1, caller is UB/dev-2',
      );
      await expect(t.ledger.submit(dev1, (ctx) => t.passports.RecordArtifact(ctx, 'p-17', digestOf('C')))).rejects.toThrow('artifactDigest must be a digest');
    });
  });

  describe('queries', () => {
    type Page = { records: Passport[]; bookmark: string; fetchedRecordsCount: number };
    const all = async (query: (pageSize: number, bookmark: string) => (ctx: Parameters<typeof t.passports.Read>[0]) => Promise<string>) => {
      const ids: string[] = [];
      let bookmark = '';
      do {
        const page = parse<Page>(await t.ledger.evaluate(dev1, query(3, bookmark)));
        ids.push(...page.records.map((p) => p.id));
        bookmark = page.bookmark;
      } while (bookmark);
      return ids;
    };

    beforeEach(async () => {
      for (let i = 1; i <= 7; i++) await create(dev1, passportInput(`p-${i}`, i <= 2 ? { datasets: [] } : {}));
      await create(dev2, passportInput('q-1'));
      await t.ledger.submit(dev1, (ctx) => t.passports.SetStatus(ctx, 'p-3', 'ACTIVE', 'released'));
    });

    it('pages through the passports of an owner', async () => {
      expect(await all((n, b) => (ctx) => t.passports.QueryByOwner(ctx, 'UB', dev1.getID(), n, b))).toEqual(['p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6', 'p-7']);
      expect(await all((n, b) => (ctx) => t.passports.QueryByOwner(ctx, 'UB', '', n, b))).toHaveLength(8);
      expect(await all((n, b) => (ctx) => t.passports.QueryByOwner(ctx, 'HCL', '', n, b))).toEqual([]);
    });

    it('pages by dataset and by status', async () => {
      expect(await all((n, b) => (ctx) => t.passports.QueryByDataset(ctx, 'ds-hcl', n, b))).toEqual(['p-3', 'p-4', 'p-5', 'p-6', 'p-7', 'q-1']);
      expect(await all((n, b) => (ctx) => t.passports.QueryByStatus(ctx, 'ACTIVE', n, b))).toEqual(['p-3']);
      expect(await all((n, b) => (ctx) => t.passports.QueryByStatus(ctx, 'DRAFT', n, b))).toHaveLength(7);
    });

    it('refuses a bad page size, status or dataset id', async () => {
      await expect(t.ledger.evaluate(dev1, (ctx) => t.passports.QueryByStatus(ctx, 'DRAFT', 0, ''))).rejects.toThrow('pageSize must be an integer from 1 to 200');
      await expect(t.ledger.evaluate(dev1, (ctx) => t.passports.QueryByStatus(ctx, 'NOPE', 5, ''))).rejects.toThrow('status must be one of');
      await expect(t.ledger.evaluate(dev1, (ctx) => t.passports.QueryByDataset(ctx, 'a b', 5, ''))).rejects.toThrow('datasetId must be an identifier');
    });
  });

  it('WhoAmI answers the caller as the chaincode sees it', async () => {
    expect(parse(await t.ledger.evaluate(auditor, (ctx) => t.passports.WhoAmI(ctx)))).toEqual({
      mspId: 'AUDIT',
      commonName: 'aud-1',
      clientId: auditor.getID(),
      role: 'auditor',
    });
  });
});
