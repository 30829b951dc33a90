import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import { canonicalJson, fromBytes } from './canonical';
import {
  assertOwner,
  assertRole,
  callerOf,
  deleteIndex,
  emit,
  getJson,
  historyOf,
  key,
  label,
  matchesReference,
  pageByPartialKey,
  putIndex,
  putJson,
  sameIdentity,
  sha256,
  txTime,
} from './ledger';
import { PASSPORT_STATUSES, SCHEMA_VERSION, type Passport, type PassportStatus, type Round } from './model';
import { aggregators, biasInput, datasetRefs, intendedUse, metricInputs, modelDetails, roundInput, trainingType } from './passport-input';
import { digest, identifier, onlyKeys, oneOf, optionalText, parseJson, parseValue, text } from './validate';

const PASSPORT = 'passport';
const ROUND = 'round';
/** Indexes: composite keys whose value is a NUL byte, kept in step with every write of a passport. */
export const BY_OWNER = 'owner~passport';
export const BY_DATASET = 'dataset~passport';
export const BY_STATUS = 'status~passport';

/** Statuses a passport may move to from each status; REVOKED is final. */
const TRANSITIONS: Record<PassportStatus, readonly PassportStatus[]> = {
  DRAFT: ['ACTIVE', 'REVOKED'],
  ACTIVE: ['SUSPENDED', 'DEPRECATED', 'REVOKED'],
  SUSPENDED: ['ACTIVE', 'DEPRECATED', 'REVOKED'],
  DEPRECATED: ['REVOKED'],
  REVOKED: [],
};

/** Fields of a passport that `Update` may change; the others are refused with the reason. */
const UPDATABLE = ['description', 'model', 'intendedUse', 'trainingType', 'datasets', 'aggregators'] as const;
const REFUSED: Record<string, string> = {
  docType: 'is immutable',
  id: 'is immutable',
  schemaVersion: 'is immutable',
  owner: 'is immutable',
  createdTxId: 'is immutable',
  createdAt: 'is immutable',
  version: 'is set by the chaincode',
  updatedTxId: 'is set by the chaincode',
  updatedAt: 'is set by the chaincode',
  status: 'is changed by SetStatus',
  metrics: 'is changed by RecordMetrics',
  biases: 'is changed by FlagBias and ResolveBias',
  artifactDigest: 'is changed by RecordArtifact',
  roundCount: 'is changed by AddRound',
  lastRoundDigest: 'is changed by AddRound',
};

function ownerIndex(p: Passport): string[] {
  return [p.owner.mspId, p.owner.clientId, p.id];
}

function indexEntries(p: Passport): [string, string[]][] {
  const datasets = [...new Set(p.datasets.map((d) => d.datasetId))];
  return [
    [BY_OWNER, ownerIndex(p)],
    [BY_STATUS, [p.status, p.id]],
    ...datasets.map((d): [string, string[]] => [BY_DATASET, [d, p.id]]),
  ];
}

async function load(ctx: Context, id: string): Promise<Passport> {
  const passport = await getJson<Passport>(ctx.stub, key(ctx.stub, PASSPORT, identifier(id, 'id')));
  if (!passport) throw new Error(`passport ${id} does not exist`);
  return passport;
}

function assertNotRevoked(p: Passport): void {
  if (p.status === 'REVOKED') throw new Error(`passport ${p.id} is REVOKED and can no longer change`);
}

/** Writes a new version of a passport (version + 1, tx id and time) and moves its index entries. */
async function save(ctx: Context, before: Passport | undefined, changes: Partial<Passport>): Promise<Passport> {
  const after = {
    ...before,
    ...changes,
    version: (before?.version ?? 0) + 1,
    updatedTxId: ctx.stub.getTxID(),
    updatedAt: txTime(ctx),
  } as Passport;
  const stub = ctx.stub;
  const keyed = (p: Passport | undefined) =>
    new Map((p ? indexEntries(p) : []).map(([type, attrs]) => [stub.createCompositeKey(type, attrs), [type, attrs] as const]));
  const previous = keyed(before);
  const next = keyed(after);
  for (const [k, [type, attrs]] of previous) if (!next.has(k)) await deleteIndex(stub, type, attrs);
  for (const [k, [type, attrs]] of next) if (!previous.has(k)) await putIndex(stub, type, attrs);
  await putJson(stub, key(stub, PASSPORT, after.id), after);
  return after;
}

async function page(ctx: Context, index: string, attributes: string[], size: number, bookmark: string): Promise<string> {
  const result = await pageByPartialKey(ctx.stub, index, attributes, size, bookmark, async (parts) =>
    getJson<Passport>(ctx.stub, key(ctx.stub, PASSPORT, parts[parts.length - 1])),
  );
  return canonicalJson(result);
}

/**
 * AI passports: the model card of a model trained across centres, its federated rounds as a hash chain,
 * metrics, flagged biases and the digest of the released artefact. Transactions are `passport:<Name>`.
 */
@Info({ title: 'PassportContract', description: 'AI passports, federated rounds, metrics, biases and artefacts' })
export class PassportContract extends Contract {
  constructor() {
    super('passport');
  }

  /** Creates a DRAFT passport owned by the caller (role developer). */
  @Transaction()
  @Returns('string')
  async Create(ctx: Context, passportJson: string): Promise<string> {
    const caller = assertRole(ctx, 'developer', 'creating a passport');
    const input = parseJson(passportJson, 'passport');
    onlyKeys(input, 'passport', ['id', ...UPDATABLE]);
    const id = identifier(input.id, 'passport.id');
    if (await getJson(ctx.stub, key(ctx.stub, PASSPORT, id))) throw new Error(`passport ${id} already exists`);
    const now = txTime(ctx);
    const passport = await save(ctx, undefined, {
      docType: 'passport',
      id,
      schemaVersion: SCHEMA_VERSION,
      status: 'DRAFT',
      owner: caller,
      description: text(input.description, 'passport.description', 10_000),
      model: modelDetails(input.model, 'passport.model'),
      intendedUse: intendedUse(input.intendedUse, 'passport.intendedUse'),
      trainingType: trainingType(input.trainingType, 'passport.trainingType'),
      datasets: datasetRefs(input.datasets ?? [], 'passport.datasets'),
      aggregators: aggregators(input.aggregators ?? [], 'passport.aggregators'),
      metrics: [],
      biases: [],
      artifactDigest: null,
      roundCount: 0,
      lastRoundDigest: null,
      createdTxId: ctx.stub.getTxID(),
      createdAt: now,
    });
    emit(ctx, 'PassportCreated', { id, version: passport.version, owner: label(caller) });
    return canonicalJson(passport);
  }

  @Transaction(false)
  @Returns('string')
  async Read(ctx: Context, id: string): Promise<string> {
    return canonicalJson(await load(ctx, id));
  }

  /** Owner only; `expectedVersion` must be the current version (optimistic concurrency). */
  @Transaction()
  @Returns('string')
  async Update(ctx: Context, id: string, expectedVersion: number, changesJson: string): Promise<string> {
    const before = await load(ctx, id);
    assertOwner(ctx, `passport ${id}`, before.owner);
    assertNotRevoked(before);
    if (expectedVersion !== before.version) {
      throw new Error(`passport ${id} is at version ${before.version}, not the expected version ${expectedVersion}`);
    }
    const input = parseJson(changesJson, 'changes');
    const changes: Partial<Passport> = {};
    for (const field of Object.keys(input)) {
      if (REFUSED[field]) throw new Error(`field ${field} ${REFUSED[field]}`);
      if (!(UPDATABLE as readonly string[]).includes(field)) throw new Error(`changes.${field} is not a known field`);
    }
    if (Object.keys(input).length === 0) throw new Error('changes must change at least one field');
    if (input.description !== undefined) changes.description = text(input.description, 'changes.description', 10_000);
    if (input.model !== undefined) changes.model = modelDetails(input.model, 'changes.model');
    if (input.intendedUse !== undefined) changes.intendedUse = intendedUse(input.intendedUse, 'changes.intendedUse');
    if (input.trainingType !== undefined) changes.trainingType = trainingType(input.trainingType, 'changes.trainingType');
    if (input.datasets !== undefined) changes.datasets = datasetRefs(input.datasets, 'changes.datasets');
    if (input.aggregators !== undefined) changes.aggregators = aggregators(input.aggregators, 'changes.aggregators');
    const after = await save(ctx, before, changes);
    emit(ctx, 'PassportUpdated', { id, version: after.version, fields: Object.keys(changes).sort() });
    return canonicalJson(after);
  }

  /** Owner only, along DRAFT → ACTIVE ⇄ SUSPENDED → DEPRECATED, and to REVOKED (final) from any. */
  @Transaction()
  @Returns('string')
  async SetStatus(ctx: Context, id: string, status: string, reason: string): Promise<string> {
    const before = await load(ctx, id);
    assertOwner(ctx, `passport ${id}`, before.owner);
    const next = oneOf(status, 'status', PASSPORT_STATUSES);
    const why = optionalText(reason || undefined, 'reason');
    if (!TRANSITIONS[before.status].includes(next)) {
      throw new Error(`passport ${id} cannot go from ${before.status} to ${next}`);
    }
    const after = await save(ctx, before, { status: next });
    emit(ctx, 'PassportStatusChanged', { id, version: after.version, from: before.status, to: next, reason: why });
    return canonicalJson(after);
  }

  /** Every committed version, oldest first, each with its tx id and time. */
  @Transaction(false)
  @Returns('string')
  async History(ctx: Context, id: string): Promise<string> {
    await load(ctx, id);
    const versions = await historyOf<Passport>(ctx.stub, key(ctx.stub, PASSPORT, id));
    versions.sort((a, b) => (a.value?.version ?? 0) - (b.value?.version ?? 0));
    return canonicalJson(versions);
  }

  /**
   * A federated round, by an aggregator the passport authorises (and role aggregator). Its number must
   * follow the last round and it must carry the last round's digest, so the rounds form a hash chain.
   */
  @Transaction()
  @Returns('string')
  async AddRound(ctx: Context, id: string, roundJson: string): Promise<string> {
    const before = await load(ctx, id);
    const caller = assertRole(ctx, 'aggregator', 'adding a round');
    if (!before.aggregators.some((ref) => matchesReference(ref, caller))) {
      throw new Error(`${label(caller)} is not an authorised aggregator of passport ${id}`);
    }
    if (before.status !== 'DRAFT' && before.status !== 'ACTIVE') {
      throw new Error(`passport ${id} is ${before.status}; rounds are added only while DRAFT or ACTIVE`);
    }
    const input = roundInput(parseJson(roundJson, 'round'));
    const expected = before.roundCount + 1;
    if (input.roundNumber !== expected) {
      throw new Error(`round.roundNumber must be ${expected} (the last round of passport ${id} is ${before.roundCount})`);
    }
    if (input.previousRoundDigest !== before.lastRoundDigest) {
      throw new Error(
        `round.previousRoundDigest must be ${before.lastRoundDigest ?? 'null'} (the digest of round ${before.roundCount}), got ${input.previousRoundDigest ?? 'null'}`,
      );
    }
    const body: Omit<Round, 'roundDigest'> = {
      docType: 'round',
      passportId: id,
      ...input,
      aggregator: label(caller),
      txId: ctx.stub.getTxID(),
      timestamp: txTime(ctx),
    };
    const round: Round = { ...body, roundDigest: sha256(body) };
    await putJson(ctx.stub, key(ctx.stub, ROUND, id, roundKey(round.roundNumber)), round);
    const after = await save(ctx, before, { roundCount: round.roundNumber, lastRoundDigest: round.roundDigest });
    emit(ctx, 'RoundAdded', {
      id,
      version: after.version,
      roundNumber: round.roundNumber,
      roundDigest: round.roundDigest,
      aggregateDigest: round.aggregateDigest,
    });
    return canonicalJson(round);
  }

  @Transaction(false)
  @Returns('string')
  async ListRounds(ctx: Context, id: string, pageSize: number, bookmark: string): Promise<string> {
    await load(ctx, id);
    const result = await pageByPartialKey(ctx.stub, ROUND, [id], pageSize, bookmark, async (_parts, value) =>
      fromBytes<Round>(value),
    );
    return canonicalJson(result);
  }

  /** Read-only: round `roundNumber` of a passport. */
  @Transaction(false)
  @Returns('string')
  async ReadRound(ctx: Context, id: string, roundNumber: number): Promise<string> {
    const passport = await load(ctx, id);
    const n = Number(roundNumber);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`roundNumber must be a positive integer, got ${String(roundNumber)}`);
    const round = n <= passport.roundCount ? await getJson<Round>(ctx.stub, key(ctx.stub, ROUND, id, roundKey(n))) : undefined;
    if (!round) throw new Error(`passport ${id} has no round ${n} (it has ${passport.roundCount})`);
    return canonicalJson(round);
  }

  /** Owner only: appends evaluation metrics (name, value, dataset, optional subgroup). */
  @Transaction()
  @Returns('string')
  async RecordMetrics(ctx: Context, id: string, metricsJson: string): Promise<string> {
    const before = await load(ctx, id);
    assertOwner(ctx, `passport ${id}`, before.owner);
    assertNotRevoked(before);
    const parsed = parseValue(metricsJson, 'metrics');
    const recorded = { recordedTxId: ctx.stub.getTxID(), recordedAt: txTime(ctx) };
    const metrics = metricInputs(parsed, 'metrics').map((m) => ({ ...m, ...recorded }));
    const after = await save(ctx, before, { metrics: [...before.metrics, ...metrics] });
    emit(ctx, 'MetricsRecorded', { id, version: after.version, names: metrics.map((m) => m.name) });
    return canonicalJson(after);
  }

  /** Any auditor (role auditor) flags a bias; it stays OPEN until the owner resolves it. */
  @Transaction()
  @Returns('string')
  async FlagBias(ctx: Context, id: string, biasJson: string): Promise<string> {
    const before = await load(ctx, id);
    const caller = assertRole(ctx, 'auditor', 'flagging a bias');
    assertNotRevoked(before);
    const input = biasInput(parseJson(biasJson, 'bias'));
    const bias = {
      biasId: `bias-${before.biases.length + 1}`,
      ...input,
      status: 'OPEN' as const,
      flaggedBy: label(caller),
      flaggedTxId: ctx.stub.getTxID(),
      flaggedAt: txTime(ctx),
    };
    const after = await save(ctx, before, { biases: [...before.biases, bias] });
    emit(ctx, 'BiasFlagged', { id, version: after.version, biasId: bias.biasId, severity: bias.severity });
    return canonicalJson(after);
  }

  /** Owner only: closes an OPEN bias with a resolution note. */
  @Transaction()
  @Returns('string')
  async ResolveBias(ctx: Context, id: string, biasId: string, resolution: string): Promise<string> {
    const before = await load(ctx, id);
    assertOwner(ctx, `passport ${id}`, before.owner);
    assertNotRevoked(before);
    const bias = before.biases.find((b) => b.biasId === biasId);
    if (!bias) throw new Error(`passport ${id} has no bias ${biasId}`);
    if (bias.status !== 'OPEN') throw new Error(`bias ${biasId} of passport ${id} is already ${bias.status}`);
    const resolved = {
      ...bias,
      status: 'RESOLVED' as const,
      resolution: text(resolution, 'resolution', 10_000),
      resolvedTxId: ctx.stub.getTxID(),
      resolvedAt: txTime(ctx),
    };
    const after = await save(ctx, before, { biases: before.biases.map((b) => (b.biasId === biasId ? resolved : b)) });
    emit(ctx, 'BiasResolved', { id, version: after.version, biasId });
    return canonicalJson(after);
  }

  /**
   * The digest of the released model artefact. The owner may record any digest; an authorised aggregator only
   * the aggregate of the last round on the chain (it releases what the federation produced, nothing else).
   */
  @Transaction()
  @Returns('string')
  async RecordArtifact(ctx: Context, id: string, artifactDigest: string): Promise<string> {
    const before = await load(ctx, id);
    const caller = callerOf(ctx);
    const d = digest(artifactDigest, 'artifactDigest');
    const isAggregator = ctx.clientIdentity.assertAttributeValue('role', 'aggregator') && before.aggregators.some((ref) => matchesReference(ref, caller));
    if (!isAggregator) assertOwner(ctx, `passport ${id}`, before.owner);
    assertNotRevoked(before);
    if (isAggregator && !sameIdentity(before.owner, caller)) {
      const last = before.roundCount > 0 ? await getJson<Round>(ctx.stub, key(ctx.stub, ROUND, id, roundKey(before.roundCount))) : undefined;
      if (!last) throw new Error(`aggregator ${label(caller)} can record an artefact of passport ${id} only after a round; it has none`);
      if (last.aggregateDigest !== d) {
        throw new Error(`aggregator ${label(caller)} may only record the aggregate of round ${last.roundNumber} (${last.aggregateDigest}) as the artefact of passport ${id}, got ${d}`);
      }
    }
    const after = await save(ctx, before, { artifactDigest: d });
    emit(ctx, 'ArtifactRecorded', { id, version: after.version, artifactDigest: d, recordedBy: label(caller) });
    return canonicalJson(after);
  }

  /** Read-only: does this digest match the released artefact recorded on the passport? */
  @Transaction(false)
  @Returns('string')
  async VerifyArtifact(ctx: Context, id: string, artifactDigest: string): Promise<string> {
    const passport = await load(ctx, id);
    const d = digest(artifactDigest, 'artifactDigest');
    return canonicalJson({
      id,
      version: passport.version,
      status: passport.status,
      recordedDigest: passport.artifactDigest,
      match: passport.artifactDigest !== null && passport.artifactDigest === d,
    });
  }

  /** Passports of an owner: MSP id, and optionally the full client id. */
  @Transaction(false)
  @Returns('string')
  async QueryByOwner(ctx: Context, mspId: string, clientId: string, pageSize: number, bookmark: string): Promise<string> {
    const attributes = [text(mspId, 'mspId', 200), ...(clientId ? [clientId] : [])];
    return page(ctx, BY_OWNER, attributes, pageSize, bookmark);
  }

  @Transaction(false)
  @Returns('string')
  async QueryByDataset(ctx: Context, datasetId: string, pageSize: number, bookmark: string): Promise<string> {
    return page(ctx, BY_DATASET, [identifier(datasetId, 'datasetId')], pageSize, bookmark);
  }

  @Transaction(false)
  @Returns('string')
  async QueryByStatus(ctx: Context, status: string, pageSize: number, bookmark: string): Promise<string> {
    return page(ctx, BY_STATUS, [oneOf(status, 'status', PASSPORT_STATUSES)], pageSize, bookmark);
  }

  /** The caller as the chaincode sees it (MSP id, client id, common name, role): handy for clients. */
  @Transaction(false)
  @Returns('string')
  async WhoAmI(ctx: Context): Promise<string> {
    return canonicalJson({ ...callerOf(ctx), role: ctx.clientIdentity.getAttributeValue('role') });
  }
}

/** Round numbers zero-padded so the composite keys sort numerically. */
function roundKey(n: number): string {
  return n.toString().padStart(10, '0');
}
