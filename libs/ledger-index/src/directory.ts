import type { Db } from 'mongodb';
import { collectionsOf, recordOf } from './collections';

/** What a passport listing filters on. */
export interface PassportFilter {
  /** MSP id of the owner. */
  owner?: string;
  status?: string;
  dataset?: string;
  trainingType?: string;
  /** Words in the description (case-insensitive, taken literally). */
  text?: string;
  limit?: number;
  skip?: number;
}

interface Entry {
  /** The passport as the cache holds it (without `_id` and `_pos`). */
  record: Record<string, unknown>;
  owner: string;
  status: string;
  trainingType: string;
  datasets: string[];
  /** The description in lower case, for `text`. */
  description: string;
  /** Ledger position of the version this entry reflects: an older one never replaces it. */
  pos: number;
}

/** The fields of a cached passport the directory filters on (it keeps the whole record). */
export interface ListedPassport {
  id: string;
  owner?: { mspId?: string };
  status?: string;
  trainingType?: string;
  datasets?: { datasetId?: string }[];
  description?: string;
  [field: string]: unknown;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * The cache's current passports in memory, in id order, with the fields listings filter on (owner, status, training
 * type, dataset ids, the lower-cased description): a listing is answered here, total included, without a request to
 * the cache. FerretDB 1.24, the cache's default server, evaluates every filter but `{_id}` by reading and decoding the
 * whole collection (≈ 40 µs a passport), and even reading a page of twenty by `_id` costs it twenty requests. The
 * cache's single writer keeps the directory current (`put` after each batch, with the ledger positions it wrote); it
 * is loaded from the cache when an indexer starts, and a standby reloads it (ADR 0012).
 *
 * Memory: the passports as JSON-like objects, ≈ 2–3 times their size in the cache (a few KB each).
 */
export class PassportDirectory {
  private readonly entries = new Map<string, Entry>();
  /** Ids in order: a new id is inserted in place; after a load (many new ids) it is sorted once, on the next listing. */
  private sorted: string[] | undefined = [];
  private loadedAt = 0;

  get size(): number {
    return this.entries.size;
  }

  /** When the directory was last loaded from the cache (ms since the epoch; 0: never). */
  get loaded(): number {
    return this.loadedAt;
  }

  /**
   * Reads the cache's passports into the directory (one pass over the collection, listing fields only). An entry
   * never goes back to an earlier ledger position: a `put` made while the pass runs is kept.
   */
  async load(db: Db): Promise<void> {
    const { passports } = collectionsOf(db);
    this.sorted = undefined;
    for await (const doc of passports.find({})) this.put({ ...(recordOf(doc) as ListedPassport), id: doc._id }, doc._pos);
    this.loadedAt = Date.now();
  }

  /** The ledger position of the passport's version the directory holds (undefined: no such passport). */
  positionOf(id: string): number | undefined {
    return this.entries.get(id)?.pos;
  }

  /** Records the passport as written at ledger position `pos` (ignored when the directory has a later one). */
  put(passport: ListedPassport, pos: number): void {
    const seen = this.entries.get(passport.id);
    if (seen && seen.pos >= pos) return;
    if (!seen && this.sorted) this.sorted.splice(insertionPoint(this.sorted, passport.id), 0, passport.id);
    this.entries.set(passport.id, entryOf(passport, pos));
  }

  /** The passports matching every criterion of `filter`, in id order: how many in all, and the page `skip`/`limit` asks for. */
  find(filter: PassportFilter): { total: number; passports: Record<string, unknown>[] } {
    const { total, ids } = this.query(filter);
    return { total, passports: ids.map((id) => this.entries.get(id)!.record) };
  }

  /** The ids matching every criterion of `filter`, in id order: how many in all, and the page `skip`/`limit` asks for. */
  query(filter: PassportFilter): { total: number; ids: string[] } {
    const text = filter.text?.toLowerCase();
    const matches = (e: Entry) =>
      (!filter.owner || e.owner === filter.owner) &&
      (!filter.status || e.status === filter.status) &&
      (!filter.trainingType || e.trainingType === filter.trainingType) &&
      (!filter.dataset || e.datasets.includes(filter.dataset)) &&
      (!text || e.description.includes(text));
    const skip = filter.skip ?? 0;
    const limit = Math.min(filter.limit ?? 100, 1000);
    const ids: string[] = [];
    let total = 0;
    for (const id of this.ordered()) {
      if (!matches(this.entries.get(id)!)) continue;
      if (total >= skip && ids.length < limit) ids.push(id);
      total++;
    }
    return { total, ids };
  }

  private ordered(): string[] {
    // Code-unit order, as MongoDB sorts string `_id`s.
    this.sorted ??= [...this.entries.keys()].sort(byCodeUnit);
    return this.sorted;
  }
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Where `id` goes in the sorted `ids` (binary search). */
function insertionPoint(ids: string[], id: string): number {
  let [lo, hi] = [0, ids.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function entryOf(p: ListedPassport, pos: number): Entry {
  return {
    record: p,
    owner: str(p.owner?.mspId),
    status: str(p.status),
    trainingType: str(p.trainingType),
    datasets: (p.datasets ?? []).map((d) => str(d.datasetId)),
    description: str(p.description).toLowerCase(),
    pos,
  };
}
