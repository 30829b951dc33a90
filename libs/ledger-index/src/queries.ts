import type { Db, Filter } from 'mongodb';
import { collectionsOf, recordOf, type Cached } from './collections';

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

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Passports of the cache matching every given criterion, by id. */
export async function findPassports(db: Db, f: PassportFilter): Promise<{ total: number; passports: Record<string, unknown>[] }> {
  const { passports } = collectionsOf(db);
  const filter: Filter<Cached> = {};
  if (f.owner) filter['owner.mspId'] = f.owner;
  if (f.status) filter.status = f.status;
  if (f.dataset) filter['datasets.datasetId'] = f.dataset;
  if (f.trainingType) filter.trainingType = f.trainingType;
  if (f.text) filter.description = { $regex: escapeRegex(f.text), $options: 'i' };
  const total = await passports.countDocuments(filter);
  const docs = await passports
    .find(filter)
    .sort({ _id: 1 })
    .skip(f.skip ?? 0)
    .limit(Math.min(f.limit ?? 100, 1000))
    .toArray();
  return { total, passports: docs.map(recordOf) };
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

/** One passport's history from the cache; undefined when the cache has no such passport. */
export async function passportTimeline(db: Db, id: string): Promise<Timeline | undefined> {
  const c = collectionsOf(db);
  const current = await c.passports.findOne({ _id: id });
  if (!current) return undefined;
  const versions = (await c.versions.find({ passportId: id }).sort({ version: 1 }).toArray()).map(recordOf);
  const rounds = (await c.rounds.find({ passportId: id }).sort({ roundNumber: 1 }).toArray()).map(recordOf);
  const biases = (await c.biases.find({ passportId: id }).sort({ biasId: 1 }).toArray()).map(recordOf);
  const grants = (await c.grants.find({ subject: id }).sort({ _id: 1 }).toArray()).map(recordOf);
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
  const grants = (await c.grants.find({ datasetId: id }).sort({ _id: 1 }).toArray()).map(recordOf);
  const isLive = (g: Record<string, unknown>) => g.status === 'GRANTED' && str(g.expiresAt) > now.toISOString();
  return { dataset: recordOf(dataset), live: grants.filter(isLive), revokedOrExpired: grants.filter((g) => !isLive(g)) };
}

/** Datasets of the cache, by id. */
export async function listDatasets(db: Db, limit = 100, skip = 0): Promise<Record<string, unknown>[]> {
  const { datasets } = collectionsOf(db);
  return (await datasets.find({}).sort({ _id: 1 }).skip(skip).limit(Math.min(limit, 1000)).toArray()).map(recordOf);
}
