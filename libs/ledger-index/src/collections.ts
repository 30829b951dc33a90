import type { Collection, Db, Document } from 'mongodb';
import type { Checkpoint } from '@fedledger/ledger';

/**
 * The cache's collections. Every document mirrors a ledger record as the chaincode stored it (its JSON fields at
 * the top level, so queries read them directly) plus `_pos`, the ledger position of the write it reflects.
 */
export const COLLECTIONS = {
  /** The current version of each passport; `_id` = passport id. */
  passports: 'passports',
  /** Every version of every passport; `_id` = `<id>@<version>`: { passportId, version, txId, timestamp, event, value }. */
  versions: 'passport_versions',
  /** Federated rounds; `_id` = `<passport id>#<round number>`. */
  rounds: 'rounds',
  /** Bias flags with their resolution; `_id` = `<passport id>/<bias id>`. */
  biases: 'biases',
  /** Datasets; `_id` = dataset id. */
  datasets: 'datasets',
  /** Grants, live and revoked; `_id` = `<dataset id>/<subject>`. */
  grants: 'grants',
  /**
   * Which grants exist, by dataset and by subject, so that a dataset's or a passport's grants are read by `_id`:
   * `_id` = `dataset/<dataset id>` → `{ ids: [subjects] }`, `subject/<subject>` → `{ ids: [dataset ids] }`.
   */
  grantLinks: 'grant_links',
  /** The indexer's checkpoint and counters; `_id` = 'checkpoint'. */
  state: 'indexer_state',
} as const;

/** A cached document: the ledger record's fields plus where on the ledger it was written. */
export type Cached = Document & { _id: string; _pos: number };

/** One number per ledger position, ordered as the ledger is: block, then transaction within it. */
export function positionOf(c: Checkpoint): number {
  return c.blockNumber * 65_536 + c.txIndex;
}

export function checkpointOf(position: number): Checkpoint {
  return { blockNumber: Math.floor(position / 65_536), txIndex: position % 65_536 };
}

export interface IndexerState {
  _id: 'checkpoint';
  blockNumber: number;
  txIndex: number;
  /** Chaincode events applied since the cache was created (replays count again). */
  eventsIndexed: number;
  updatedAt: string;
}

/** Who writes the cache: one indexer at a time holds this lease (renewed while it runs); `_id` = 'lease'. */
export interface IndexerLease {
  _id: 'lease';
  holder: string;
  expiresAt: Date;
}

/** The grants of one dataset (their subjects) or of one subject (their datasets), sorted. */
export interface GrantLinks {
  _id: string;
  ids: string[];
}

export const grantLinkId = {
  dataset: (datasetId: string) => `dataset/${datasetId}`,
  subject: (subject: string) => `subject/${subject}`,
};

export interface CacheCollections {
  passports: Collection<Cached>;
  versions: Collection<Cached>;
  rounds: Collection<Cached>;
  biases: Collection<Cached>;
  datasets: Collection<Cached>;
  grants: Collection<Cached>;
  grantLinks: Collection<GrantLinks>;
  state: Collection<IndexerState>;
  lease: Collection<IndexerLease>;
}

export function collectionsOf(db: Db): CacheCollections {
  return {
    passports: db.collection<Cached>(COLLECTIONS.passports),
    versions: db.collection<Cached>(COLLECTIONS.versions),
    rounds: db.collection<Cached>(COLLECTIONS.rounds),
    biases: db.collection<Cached>(COLLECTIONS.biases),
    datasets: db.collection<Cached>(COLLECTIONS.datasets),
    grants: db.collection<Cached>(COLLECTIONS.grants),
    grantLinks: db.collection<GrantLinks>(COLLECTIONS.grantLinks),
    state: db.collection<IndexerState>(COLLECTIONS.state),
    lease: db.collection<IndexerLease>(COLLECTIONS.state),
  };
}

/** The indexes the audit queries use. */
const INDEXES: [keyof Omit<CacheCollections, 'state' | 'lease' | 'grantLinks'>, Record<string, 1>, string][] = [
  ['passports', { 'owner.mspId': 1, id: 1 }, 'by_owner'],
  ['passports', { status: 1, id: 1 }, 'by_status'],
  ['passports', { 'datasets.datasetId': 1 }, 'by_dataset'],
  ['passports', { trainingType: 1, id: 1 }, 'by_training_type'],
  ['versions', { passportId: 1, version: 1 }, 'by_passport'],
  ['rounds', { passportId: 1, roundNumber: 1 }, 'by_passport'],
  ['biases', { passportId: 1, biasId: 1 }, 'by_passport'],
  ['grants', { datasetId: 1, subject: 1 }, 'by_dataset'],
  ['grants', { subject: 1 }, 'by_subject'],
];

/**
 * Creates the indexes (idempotent). One `createIndex` per index: FerretDB 1.24 closes the connection (a panic on
 * its side) when one `createIndexes` call names several indexes that already exist.
 */
export async function ensureIndexes(c: CacheCollections): Promise<void> {
  for (const [collection, key, name] of INDEXES) await c[collection].createIndex(key, { name });
}

/** The ledger record a cached document mirrors (without `_id` and `_pos`). */
export function recordOf(doc: Document): Record<string, unknown> {
  const { _id: _ignoredId, _pos: _ignoredPos, ...record } = doc;
  return record;
}
