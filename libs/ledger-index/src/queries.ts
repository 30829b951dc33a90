import type { Collection, Db } from 'mongodb';
import { collectionsOf, grantLinkId, recordOf, type Cached } from './collections';

/**
 * Documents by `_id`, in the order of `ids`, those the cache lacks left out: the one read FerretDB 1.24 answers from an
 * index (with the project's patch, ADR 0012). A few at a time, on the driver's pool.
 */
export async function byIds(collection: Collection<Cached>, ids: string[], concurrency = 8): Promise<Cached[]> {
  const found: (Cached | null)[] = new Array<Cached | null>(ids.length).fill(null);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < ids.length; i = next++) found[i] = await collection.findOne({ _id: ids[i]! });
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  return found.filter((d): d is Cached => d !== null);
}

export interface TimelineEntry {
  at: string;
  txId: string;
  kind: 'version' | 'round' | 'bias-flagged' | 'bias-resolved' | 'grant' | 'grant-revoked';
  summary: string;
}

export interface Timeline {
  passport: Record<string, unknown>;
  versions: Record<string, unknown>[];
  rounds: Record<string, unknown>[];
  biases: Record<string, unknown>[];
  /** Grants whose subject is this passport, live and revoked. */
  grants: Record<string, unknown>[];
  /** Everything above in ledger time order, one line each. */
  entries: TimelineEntry[];
}

const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));
/** A digest cut to its first 12 hex digits (the rounds keep them whole). */
const short = (v: unknown) => str(v).replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1…');

/** 1..n as strings with a prefix: the `_id`s of a passport's versions or rounds. */
const numbered = (prefix: string, n: number) => Array.from({ length: Math.max(0, n) }, (_, i) => `${prefix}${i + 1}`);

/**
 * One passport's history from the cache; undefined when the cache has no such passport. Every read is by `_id`:
 * the current passport names how many versions (`<id>@1..version`) and rounds (`<id>#1..roundCount`) there are and
 * carries its biases; the grant links name its grants.
 */
export async function passportTimeline(db: Db, id: string): Promise<Timeline | undefined> {
  const c = collectionsOf(db);
  const current = await c.passports.findOne({ _id: id });
  if (!current) return undefined;
  const links = await c.grantLinks.findOne({ _id: grantLinkId.subject(id) });
  const [versionDocs, roundDocs, grantDocs] = await Promise.all([
    byIds(c.versions, numbered(`${id}@`, Number(current.version))),
    byIds(c.rounds, numbered(`${id}#`, Number(current.roundCount ?? 0))),
    byIds(c.grants, (links?.ids ?? []).map((datasetId) => `${datasetId}/${id}`)),
  ]);
  const versions = versionDocs.map(recordOf);
  const rounds = roundDocs.map(recordOf);
  const biases: Record<string, unknown>[] = ((current.biases as ({ biasId: string } & Record<string, unknown>)[] | undefined) ?? []).map((b) => ({ passportId: id, ...b })).sort((a, b) => (a.biasId < b.biasId ? -1 : a.biasId > b.biasId ? 1 : 0));
  const grants = grantDocs.map(recordOf);
  const entries: TimelineEntry[] = [];
  for (const v of versions) entries.push({ at: str(v.timestamp), txId: str(v.txId), kind: 'version', summary: `version ${str(v.version)} (${str(v.event)}), status ${str((v.value as Record<string, unknown> | undefined)?.status)}` });
  for (const r of rounds) {
    const participants = (r.participants as { centre: string; numExamples: number }[] | undefined) ?? [];
    const examples = participants.reduce((n, p) => n + p.numExamples, 0);
    entries.push({ at: str(r.timestamp), txId: str(r.txId), kind: 'round', summary: `round ${str(r.roundNumber)} by ${str(r.aggregator)}: ${participants.length} centres, ${examples} examples, aggregate ${short(r.aggregateDigest)}, round digest ${short(r.roundDigest)}` });
  }
  for (const b of biases) {
    entries.push({ at: str(b.flaggedAt), txId: str(b.flaggedTxId), kind: 'bias-flagged', summary: `${str(b.biasId)} flagged by ${str(b.flaggedBy)}: ${str(b.type)} affecting ${str(b.affectedGroup)} (${str(b.severity)})` });
    if (b.status === 'RESOLVED') entries.push({ at: str(b.resolvedAt), txId: str(b.resolvedTxId), kind: 'bias-resolved', summary: `${str(b.biasId)} resolved: ${str(b.resolution)}` });
  }
  for (const g of grants) {
    entries.push({ at: str(g.grantedAt), txId: str(g.grantedTxId), kind: 'grant', summary: `${str(g.datasetId)} granted by ${str(g.grantedBy)} for ${str(g.purpose)} until ${str(g.expiresAt)}` });
    if (g.status === 'REVOKED') entries.push({ at: str(g.revokedAt), txId: str(g.revokedTxId), kind: 'grant-revoked', summary: `${str(g.datasetId)} grant revoked` });
  }
  entries.sort((a, b) => a.at.localeCompare(b.at) || a.kind.localeCompare(b.kind));
  return { passport: recordOf(current), versions, rounds, biases, grants, entries };
}

/** A dataset of the cache with its grants split into live (granted, not expired) and the others. */
export async function datasetWithGrants(db: Db, id: string, now = new Date()): Promise<{ dataset: Record<string, unknown>; live: Record<string, unknown>[]; revokedOrExpired: Record<string, unknown>[] } | undefined> {
  const c = collectionsOf(db);
  const dataset = await c.datasets.findOne({ _id: id });
  if (!dataset) return undefined;
  const links = await c.grantLinks.findOne({ _id: grantLinkId.dataset(id) });
  const grants = (await byIds(c.grants, (links?.ids ?? []).map((subject) => `${id}/${subject}`))).map(recordOf);
  const isLive = (g: Record<string, unknown>) => g.status === 'GRANTED' && str(g.expiresAt) > now.toISOString();
  return { dataset: recordOf(dataset), live: grants.filter(isLive), revokedOrExpired: grants.filter((g) => !isLive(g)) };
}

/** Datasets of the cache, by id. */
export async function listDatasets(db: Db, limit = 100, skip = 0): Promise<Record<string, unknown>[]> {
  const { datasets } = collectionsOf(db);
  return (await datasets.find({}).sort({ _id: 1 }).skip(skip).limit(Math.min(limit, 1000)).toArray()).map(recordOf);
}
