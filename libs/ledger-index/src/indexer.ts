import type { Collection, Db } from 'mongodb';
import type { ChaincodeEvent, Checkpoint, LedgerGateway, SigningIdentity } from '@fedledger/ledger';
import { collectionsOf, ensureIndexes, grantLinkId, positionOf, type CacheCollections, type Cached } from './collections';
import { PassportDirectory, type ListedPassport } from './directory';

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

/** Writes of one batch of events: immutable records once, the others only when newer than what the cache holds. */
class BatchWrites {
  /** Immutable records (versions, rounds) by collection and id. */
  readonly once = new Map<keyof CacheCollections, Map<string, Record<string, unknown>>>();
  /** Latest state per id (passports, biases, datasets, grants) with the ledger position it comes from. */
  readonly latest = new Map<keyof CacheCollections, Map<string, { record: Record<string, unknown>; pos: number }>>();

  insertOnce(collection: keyof CacheCollections, id: string, record: Record<string, unknown>, pos: number): void {
    const m = this.once.get(collection) ?? new Map<string, Record<string, unknown>>();
    this.once.set(collection, m);
    if (!m.has(id)) m.set(id, { ...record, _pos: pos });
  }

  upsertAt(collection: keyof CacheCollections, id: string, record: Record<string, unknown>, pos: number): void {
    const m = this.latest.get(collection) ?? new Map<string, { record: Record<string, unknown>; pos: number }>();
    this.latest.set(collection, m);
    const seen = m.get(id);
    if (!seen || seen.pos < pos) m.set(id, { record, pos });
  }
}

/** True when every failure of a bulk write is a duplicate key (the record is already there). */
function onlyDuplicates(err: unknown): boolean {
  const writeErrors = (err as { writeErrors?: { code?: number }[] | { code?: number } } | null)?.writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  return list.length > 0 && list.every((e) => e.code === 11000);
}

/**
 * Applies a batch's writes. The immutable records (versions, rounds: the big collections) are inserted — a record
 * already there is a duplicate key, left as it is — and the others (one document per passport, bias, dataset, grant)
 * are replaced only when the batch has them from a later ledger position than the cache (a passport's position is in
 * the directory, the others' are read by `_id`): an older position never overwrites a newer one, so replaying any
 * range changes nothing. Every read and write names one `_id`, the only filter FerretDB 1.24 answers without reading
 * the whole collection (with the project's patch: from its index). One indexer writes a cache.
 */
async function flush(c: CacheCollections, writes: BatchWrites, directory: PassportDirectory): Promise<void> {
  for (const [name, records] of writes.once) {
    const collection = c[name] as Collection<Cached>;
    const docs = [...records].map(([id, record]) => ({ ...record, _id: id }) as Cached);
    try {
      await collection.insertMany(docs, { ordered: false });
    } catch (err) {
      if (!onlyDuplicates(err)) throw err;
    }
  }
  for (const [name, records] of writes.latest) {
    const collection = c[name] as Collection<Cached>;
    for (const [id, { record, pos }] of records) {
      if (name === 'passports') {
        // The directory knows where every cached passport is (loaded after the lease was taken, updated after each
        // batch by this, the cache's one writer): no read. Upsert, should it ever lack one.
        const known = directory.positionOf(id);
        if (known === undefined || known < pos) await collection.replaceOne({ _id: id }, { ...record, _pos: pos }, { upsert: true });
        continue;
      }
      const stored = await collection.findOne({ _id: id }, { projection: { _pos: 1 } });
      if (stored && stored._pos >= pos) continue;
      if (stored) await collection.replaceOne({ _id: id }, { ...record, _pos: pos });
      else {
        try {
          await collection.insertOne({ ...record, _id: id, _pos: pos } as Cached);
        } catch (err) {
          if ((err as { code?: number }).code !== 11000) throw err;
        }
      }
    }
  }
  const grants = [...(writes.latest.get('grants')?.values() ?? [])].map(({ record }) => ({ datasetId: String(record.datasetId), subject: String(record.subject) }));
  await addGrantLinks(c, linksOf(grants));
}

/** The grant links (link `_id` → ids) of some grants. */
function linksOf(grants: { datasetId: string; subject: string }[]): Map<string, Set<string>> {
  const links = new Map<string, Set<string>>();
  const add = (linkId: string, id: string) => links.set(linkId, (links.get(linkId) ?? new Set<string>()).add(id));
  for (const g of grants) {
    add(grantLinkId.dataset(g.datasetId), g.subject);
    add(grantLinkId.subject(g.subject), g.datasetId);
  }
  return links;
}

/** Adds ids to the grant links (grants are never deleted: a link, once there, stays); writes only the links that change. */
async function addGrantLinks(c: CacheCollections, links: Map<string, Set<string>>, existing?: Map<string, string[]>): Promise<void> {
  for (const [linkId, ids] of links) {
    const stored = existing ? existing.get(linkId) : (await c.grantLinks.findOne({ _id: linkId }))?.ids;
    const merged = [...new Set([...(stored ?? []), ...ids])].sort();
    if (stored && merged.length === stored.length) continue;
    await c.grantLinks.replaceOne({ _id: linkId }, { ids: merged }, { upsert: true });
  }
}

/** Makes the grant links cover every cached grant (a cache written before the links existed gets them here). */
async function completeGrantLinks(c: CacheCollections): Promise<void> {
  const grants = await c.grants.find({}, { projection: { datasetId: 1, subject: 1 } }).toArray();
  const existing = new Map((await c.grantLinks.find({}).toArray()).map((l) => [l._id, l.ids]));
  await addGrantLinks(c, linksOf(grants.map((g) => ({ datasetId: String(g.datasetId), subject: String(g.subject) }))), existing);
}

/** Events the ledger has ready now, up to `max`: the first waits, the others only if already there. */
async function nextBatch(iterator: AsyncIterator<ChaincodeEvent>, pending: { next?: Promise<IteratorResult<ChaincodeEvent>> }, max: number): Promise<ChaincodeEvent[] | undefined> {
  const first = await (pending.next ?? iterator.next());
  pending.next = undefined;
  if (first.done) return undefined;
  const batch = [first.value];
  while (batch.length < max) {
    const next = iterator.next();
    const ready = await Promise.race([next, new Promise<'later'>((resolve) => setImmediate(() => resolve('later')))]);
    if (ready === 'later') {
      pending.next = next;
      break;
    }
    if (ready.done) {
      pending.next = next;
      break;
    }
    batch.push(ready.value);
  }
  return batch;
}

/** Another indexer writes this cache now (one writer per cache: it holds the lease). */
export class IndexerBusyError extends Error {
  override readonly name = 'IndexerBusyError';
  constructor(
    readonly holder: string,
    readonly until: Date,
  ) {
    super(`the cache is written by another indexer (${holder}, lease until ${until.toISOString()})`);
  }
}

const LEASE_MS = 30_000;

export interface LedgerIndexerOptions {
  db: Db;
  ledger: LedgerGateway;
  /** Any member identity: the indexer only evaluates (reads). */
  reader: SigningIdentity;
  /** Called after an event is in the cache and the checkpoint moved past it. */
  onIndexed?: (event: ChaincodeEvent, subjectId: string) => void | Promise<void>;
  log?: (line: string) => void;
  /** Names this indexer in the lease others see (default `pid <pid>`). */
  holder?: string;
}

/**
 * Follows the ledger's chaincode events from the checkpoint stored in the cache and writes what they changed:
 * the passport version the event produced (read back by version, so replaying an old event writes the old
 * version, not today's), its rounds, biases, the datasets and grants. The checkpoint moves after the writes, so a
 * crash replays the last event, which changes nothing.
 */
export class LedgerIndexer {
  readonly collections: CacheCollections;
  /** The passports' listing fields, loaded by `init` (or `loadDirectory`) and kept current by every batch. */
  readonly directory = new PassportDirectory();
  private indexed: Checkpoint | undefined;
  /**
   * Versions of passports read from their history, kept while events of older versions are applied (a replay,
   * or an indexer behind a busy writer): one history read serves the events of many versions.
   */
  private readonly versionCache = new Map<string, Map<number, PassportRecord>>();

  constructor(private readonly options: LedgerIndexerOptions) {
    this.collections = collectionsOf(options.db);
  }

  /**
   * Creates the indexes, takes the cache's writer lease (IndexerBusyError while another indexer holds it), completes
   * the grant links and loads the passport directory.
   */
  async init(): Promise<void> {
    await ensureIndexes(this.collections);
    await this.takeLease();
    await completeGrantLinks(this.collections);
    await this.directory.load(this.options.db);
    this.indexed = await this.checkpoint();
  }

  /** Loads the directory from the cache, for a process that reads the cache while another indexer writes it. */
  async loadDirectory(): Promise<void> {
    await this.directory.load(this.options.db);
  }

  private get holder(): string {
    return this.options.holder ?? `pid ${process.pid}`;
  }

  /**
   * Takes or renews the lease: read it by `_id`, then write it — FerretDB has no conditional update that does not
   * scan, and the window between the two is far shorter than a lease.
   */
  private async takeLease(): Promise<void> {
    const lease = await this.collections.lease.findOne({ _id: 'lease' });
    const now = new Date();
    if (lease && lease.holder !== this.holder && lease.expiresAt > now) throw new IndexerBusyError(lease.holder, lease.expiresAt);
    await this.collections.lease.replaceOne({ _id: 'lease' }, { holder: this.holder, expiresAt: new Date(now.getTime() + LEASE_MS) }, { upsert: true });
  }

  /** Gives the lease up (the next indexer need not wait for it to expire). */
  async release(): Promise<void> {
    const lease = await this.collections.lease.findOne({ _id: 'lease' });
    if (lease?.holder === this.holder) await this.collections.lease.deleteOne({ _id: 'lease' });
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
    const iterator = this.options.ledger.events(from)[Symbol.asyncIterator]();
    const pending: { next?: Promise<IteratorResult<ChaincodeEvent>> } = {};
    const renew = setInterval(() => void this.takeLease().catch((err: unknown) => this.options.log?.(`cannot renew the cache lease: ${err instanceof Error ? err.message : String(err)}`)), LEASE_MS / 3);
    try {
      for (;;) {
        if (signal?.aborted) return;
        let batch = await nextBatch(iterator, pending, 256);
        if (!batch || signal?.aborted) return;
        if (until) batch = batch.filter((e) => positionOf(e.checkpoint) <= positionOf(until));
        if (batch.length) await this.applyBatch(batch);
        const last = batch[batch.length - 1];
        if (until && (!last || positionOf(last.checkpoint) >= positionOf(until))) return;
      }
    } finally {
      clearInterval(renew);
      // Leave the ledger's stream (a waiting next() settles when the ledger closes).
      void iterator.return?.();
    }
  }

  /** Writes what one event changed; returns what it is about (passport id, dataset id, `<dataset>/<subject>`). */
  async apply(event: ChaincodeEvent): Promise<string> {
    return (await this.applyBatch([event]))[0]!;
  }

  /**
   * Writes what the events changed, moves the checkpoint past the last one, then tells `onIndexed` about each.
   * Returns what each event is about (passport id, dataset id, `<dataset>/<subject>`).
   */
  async applyBatch(events: ChaincodeEvent[]): Promise<string[]> {
    // The writes rely on the directory for the passports' positions: load it if `init` did not.
    if (this.directory.loaded === 0) await this.directory.load(this.options.db);
    const writes = new BatchWrites();
    const subjects: string[] = [];
    for (const event of events) subjects.push(await this.plan(event, writes));
    await flush(this.collections, writes, this.directory);
    for (const { record, pos } of writes.latest.get('passports')?.values() ?? []) this.directory.put(record as unknown as ListedPassport, pos);
    const last = events[events.length - 1]!;
    await this.collections.state.updateOne(
      { _id: 'checkpoint' },
      { $set: { blockNumber: last.checkpoint.blockNumber, txIndex: last.checkpoint.txIndex, updatedAt: new Date().toISOString() }, $inc: { eventsIndexed: events.length } },
      { upsert: true },
    );
    this.indexed = last.checkpoint;
    for (const [i, event] of events.entries()) await this.options.onIndexed?.(event, subjects[i]!);
    return subjects;
  }

  /** Reads what one event changed from the ledger into the batch's writes. */
  private async plan(event: ChaincodeEvent, writes: BatchWrites): Promise<string> {
    const payload = JSON.parse(event.payload) as Record<string, unknown>;
    const pos = positionOf(event.checkpoint);
    if ((PASSPORT_EVENTS as readonly string[]).includes(event.eventName)) {
      const id = String(payload.id);
      const version = Number(payload.version);
      const passport = await this.passportAt(id, version);
      writes.insertOnce('versions', `${id}@${version}`, { passportId: id, version, txId: passport.updatedTxId, timestamp: passport.updatedAt, event: event.eventName, value: passport }, pos);
      writes.upsertAt('passports', id, passport, pos);
      if (event.eventName === 'BiasFlagged' || event.eventName === 'BiasResolved') {
        for (const bias of passport.biases ?? []) writes.upsertAt('biases', `${id}/${bias.biasId}`, { passportId: id, ...bias }, pos);
      }
      if (event.eventName === 'RoundAdded') {
        const n = Number(payload.roundNumber);
        writes.insertOnce('rounds', `${id}#${n}`, JSON.parse(await this.evaluate('passport:ReadRound', [id, String(n)])) as Record<string, unknown>, pos);
      }
      return id;
    }
    if ((DATASET_EVENTS as readonly string[]).includes(event.eventName)) {
      const id = String(payload.datasetId);
      writes.upsertAt('datasets', id, JSON.parse(await this.evaluate('dataset:Read', [id])) as Record<string, unknown>, pos);
      return id;
    }
    if ((GRANT_EVENTS as readonly string[]).includes(event.eventName)) {
      const datasetId = String(payload.datasetId);
      const subject = String(payload.subject);
      // The grant as the ledger holds it now (the chaincode keeps no grant history): a replay converges on it.
      const check = JSON.parse(await this.evaluate('dataset:CheckGrant', [datasetId, subject, ''])) as { grant: Record<string, unknown> | null };
      if (check.grant) writes.upsertAt('grants', `${datasetId}/${subject}`, check.grant, pos);
      return `${datasetId}/${subject}`;
    }
    this.options.log?.(`block ${event.blockNumber}: event ${event.eventName} of tx ${event.txId} is not one the cache keeps; skipped`);
    return event.eventName;
  }

  /** The passport as version `version` left it: the current one, or found in its history when it moved on since. */
  private async passportAt(id: string, version: number): Promise<PassportRecord> {
    const cached = this.versionCache.get(id);
    const hit = cached?.get(version);
    if (hit) {
      cached!.delete(version); // each version is applied once, barring a replay (which reads again)
      if (cached!.size === 0) this.versionCache.delete(id);
      return hit;
    }
    const current = JSON.parse(await this.evaluate('passport:Read', [id])) as PassportRecord;
    if (current.version === version) return current;
    const history = JSON.parse(await this.evaluate('passport:History', [id])) as HistoryEntry[];
    const later = new Map(history.filter((h) => h.value && h.value.version > version).map((h) => [h.value!.version, h.value!]));
    if (later.size > 0) this.versionCache.set(id, later);
    const found = history.find((h) => h.value?.version === version)?.value;
    if (!found) throw new Error(`passport ${id}: the ledger's history has no version ${version}`);
    if (this.versionCache.size > 10_000) this.versionCache.clear();
    return found;
  }

  private evaluate(txName: string, args: string[]): Promise<string> {
    return this.options.ledger.evaluate(this.options.reader, txName, args);
  }
}
