import type { Collection, Db, MongoServerError } from 'mongodb';
import type { ChaincodeEvent, Checkpoint, LedgerGateway, SigningIdentity } from '@fedledger/ledger';
import { collectionsOf, ensureIndexes, positionOf, type CacheCollections, type Cached } from './collections';

/** The fields of a passport the indexer reads (the cache keeps every field the chaincode wrote). */
export interface PassportRecord {
  id: string;
  version: number;
  updatedAt: string;
  updatedTxId: string;
  biases?: { biasId: string }[];
  [field: string]: unknown;
}

interface HistoryEntry {
  txId: string;
  timestamp: string;
  isDelete: boolean;
  value: PassportRecord | null;
}

/** Events that write a new version of a passport; their payload names `id` and `version`. */
export const PASSPORT_EVENTS = ['PassportCreated', 'PassportUpdated', 'PassportStatusChanged', 'RoundAdded', 'MetricsRecorded', 'BiasFlagged', 'BiasResolved', 'ArtifactRecorded'] as const;
const DATASET_EVENTS = ['DatasetRegistered'] as const;
const GRANT_EVENTS = ['GrantIssued', 'GrantRevoked'] as const;

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as MongoServerError).code === 11000;
}

/**
 * Writes `record` as document `id` unless the cache already holds it from the same or a later ledger position:
 * replaying any range of events changes nothing, and an old event never overwrites a newer state.
 */
export async function upsertAt(collection: Collection<Cached>, id: string, record: Record<string, unknown>, pos: number): Promise<void> {
  try {
    await collection.updateOne({ _id: id, $or: [{ _pos: { $lt: pos } }, { _pos: { $exists: false } }] }, { $set: { ...record, _pos: pos } }, { upsert: true });
  } catch (err) {
    // The filter missed because the stored position is not older, so the upsert tried to insert the same _id.
    if (!isDuplicateKey(err)) throw err;
  }
}

/** Writes an immutable record (a version, a round) once; later writes of the same id change nothing. */
async function insertOnce(collection: Collection<Cached>, id: string, record: Record<string, unknown>, pos: number): Promise<void> {
  await collection.updateOne({ _id: id }, { $setOnInsert: { ...record, _pos: pos } }, { upsert: true });
}

export interface LedgerIndexerOptions {
  db: Db;
  ledger: LedgerGateway;
  /** Any member identity: the indexer only evaluates (reads). */
  reader: SigningIdentity;
  /** Called after an event is in the cache and the checkpoint moved past it. */
  onIndexed?: (event: ChaincodeEvent, subjectId: string) => void | Promise<void>;
  log?: (line: string) => void;
}

/**
 * Follows the ledger's chaincode events from the checkpoint stored in the cache and writes what they changed:
 * the passport version the event produced (read back by version, so replaying an old event writes the old
 * version, not today's), its rounds, biases, the datasets and grants. The checkpoint moves after the writes, so a
 * crash replays the last event, which changes nothing.
 */
export class LedgerIndexer {
  readonly collections: CacheCollections;
  private indexed: Checkpoint | undefined;

  constructor(private readonly options: LedgerIndexerOptions) {
    this.collections = collectionsOf(options.db);
  }

  async init(): Promise<void> {
    await ensureIndexes(this.collections);
    this.indexed = await this.checkpoint();
  }

  /** Where indexing resumes: just after this position (undefined: from the first block). */
  async checkpoint(): Promise<Checkpoint | undefined> {
    const state = await this.collections.state.findOne({ _id: 'checkpoint' });
    return state ? { blockNumber: state.blockNumber, txIndex: state.txIndex } : undefined;
  }

  /** The last position indexed (after init or an event), for the lag. */
  get position(): Checkpoint | undefined {
    return this.indexed;
  }

  /**
   * Indexes until the ledger's event stream ends (the ledger is closed), `signal` aborts, or the event at `until`
   * is indexed (a one-off catch-up: nothing to do when the checkpoint is already there).
   */
  async run(signal?: AbortSignal, until?: Checkpoint): Promise<void> {
    const from = await this.checkpoint();
    if (until && from && positionOf(from) >= positionOf(until)) return;
    for await (const event of this.options.ledger.events(from)) {
      if (signal?.aborted) return;
      const subjectId = await this.apply(event);
      await this.collections.state.updateOne(
        { _id: 'checkpoint' },
        { $set: { blockNumber: event.checkpoint.blockNumber, txIndex: event.checkpoint.txIndex, updatedAt: new Date().toISOString() }, $inc: { eventsIndexed: 1 } },
        { upsert: true },
      );
      this.indexed = event.checkpoint;
      await this.options.onIndexed?.(event, subjectId);
      if (signal?.aborted || (until && positionOf(event.checkpoint) >= positionOf(until))) return;
    }
  }

  /** Writes what one event changed; returns what it is about (passport id, dataset id, `<dataset>/<subject>`). */
  async apply(event: ChaincodeEvent): Promise<string> {
    const payload = JSON.parse(event.payload) as Record<string, unknown>;
    const pos = positionOf(event.checkpoint);
    const c = this.collections;
    if ((PASSPORT_EVENTS as readonly string[]).includes(event.eventName)) {
      const id = String(payload.id);
      const version = Number(payload.version);
      const passport = await this.passportAt(id, version);
      await insertOnce(c.versions, `${id}@${version}`, { passportId: id, version, txId: passport.updatedTxId, timestamp: passport.updatedAt, event: event.eventName, value: passport }, pos);
      await upsertAt(c.passports, id, passport, pos);
      for (const bias of passport.biases ?? []) await upsertAt(c.biases, `${id}/${bias.biasId}`, { passportId: id, ...bias }, pos);
      if (event.eventName === 'RoundAdded') {
        const n = Number(payload.roundNumber);
        const round = JSON.parse(await this.evaluate('passport:ReadRound', [id, String(n)])) as Record<string, unknown>;
        await insertOnce(c.rounds, `${id}#${n}`, round, pos);
      }
      return id;
    }
    if ((DATASET_EVENTS as readonly string[]).includes(event.eventName)) {
      const id = String(payload.datasetId);
      await upsertAt(c.datasets, id, JSON.parse(await this.evaluate('dataset:Read', [id])) as Record<string, unknown>, pos);
      return id;
    }
    if ((GRANT_EVENTS as readonly string[]).includes(event.eventName)) {
      const datasetId = String(payload.datasetId);
      const subject = String(payload.subject);
      // The grant as the ledger holds it now (the chaincode keeps no grant history): a replay converges on it.
      const check = JSON.parse(await this.evaluate('dataset:CheckGrant', [datasetId, subject, ''])) as { grant: Record<string, unknown> | null };
      if (check.grant) await upsertAt(c.grants, `${datasetId}/${subject}`, check.grant, pos);
      return `${datasetId}/${subject}`;
    }
    this.options.log?.(`block ${event.blockNumber}: event ${event.eventName} of tx ${event.txId} is not one the cache keeps; skipped`);
    return event.eventName;
  }

  /** The passport as version `version` left it: the current one, or found in its history when it moved on since. */
  private async passportAt(id: string, version: number): Promise<PassportRecord> {
    const current = JSON.parse(await this.evaluate('passport:Read', [id])) as PassportRecord;
    if (current.version === version) return current;
    const history = JSON.parse(await this.evaluate('passport:History', [id])) as HistoryEntry[];
    const found = history.find((h) => h.value?.version === version)?.value;
    if (!found) throw new Error(`passport ${id}: the ledger's history has no version ${version}`);
    return found;
  }

  private evaluate(txName: string, args: string[]): Promise<string> {
    return this.options.ledger.evaluate(this.options.reader, txName, args);
  }
}
