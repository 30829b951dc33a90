import type { Db } from 'mongodb';
import { canonicalBytes, LedgerError, type LedgerGateway, type SigningIdentity } from '@fedledger/ledger';
import { collectionsOf, recordOf } from './collections';

/** Where the cache and the ledger disagree, in words an auditor can act on. */
export interface AuditResult {
  passportId: string;
  ok: boolean;
  /** Versions and rounds compared. */
  checked: { versions: number; rounds: number };
  differences: string[];
}

const same = (a: unknown, b: unknown) => canonicalBytes(a).equals(canonicalBytes(b));
const show = (v: unknown) => {
  const text = JSON.stringify(v) ?? 'undefined';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/** The fields where two records differ, as "field: cache X, ledger Y". */
function fieldDifferences(cache: Record<string, unknown>, ledger: Record<string, unknown>): string[] {
  const fields = [...new Set([...Object.keys(cache), ...Object.keys(ledger)])].sort();
  return fields.filter((f) => !same(cache[f] ?? null, ledger[f] ?? null)).map((f) => `${f}: cache ${show(cache[f])}, ledger ${show(ledger[f])}`);
}

interface Page<T> {
  records: T[];
  bookmark: string;
}

async function allPages<T>(ledger: LedgerGateway, reader: SigningIdentity, txName: string, args: string[]): Promise<T[]> {
  const out: T[] = [];
  let bookmark = '';
  for (;;) {
    const page = JSON.parse(await ledger.evaluate(reader, txName, [...args, '200', bookmark])) as Page<T>;
    out.push(...page.records);
    if (!page.bookmark || page.records.length === 0) return out;
    bookmark = page.bookmark;
  }
}

/**
 * Checks one passport of the cache against the ledger: every version (all fields), every round (all fields,
 * digests included) and the current version; names each difference.
 */
export async function auditPassport(db: Db, ledger: LedgerGateway, reader: SigningIdentity, id: string): Promise<AuditResult> {
  const c = collectionsOf(db);
  const differences: string[] = [];
  let history: { txId: string; timestamp: string; value: Record<string, unknown> | null }[] = [];
  let rounds: Record<string, unknown>[] = [];
  try {
    history = JSON.parse(await ledger.evaluate(reader, 'passport:History', [id])) as typeof history;
    rounds = await allPages<Record<string, unknown>>(ledger, reader, 'passport:ListRounds', [id]);
  } catch (err) {
    if (!(err instanceof LedgerError && /does not exist/.test(err.message))) throw err;
    differences.push(`passport ${id} is in the cache but not on the ledger`);
  }
  const cachedVersions = new Map((await c.versions.find({ passportId: id }).toArray()).map((v) => [Number(v.version), recordOf(v)]));
  const ledgerVersions = new Map(history.filter((h) => h.value).map((h) => [Number(h.value!.version), h]));
  for (const [version, entry] of ledgerVersions) {
    const cached = cachedVersions.get(version);
    if (!cached) differences.push(`version ${version}: on the ledger (tx ${entry.txId}), not in the cache`);
    else {
      for (const d of fieldDifferences(cached.value as Record<string, unknown>, entry.value!)) differences.push(`version ${version}: ${d}`);
      if (cached.txId !== entry.txId) differences.push(`version ${version}: tx cache ${show(cached.txId)}, ledger ${show(entry.txId)}`);
    }
  }
  for (const version of cachedVersions.keys()) if (!ledgerVersions.has(version)) differences.push(`version ${version}: in the cache, not on the ledger`);

  const cachedRounds = new Map((await c.rounds.find({ passportId: id }).toArray()).map((r) => [Number(r.roundNumber), recordOf(r)]));
  const ledgerRounds = new Map(rounds.map((r) => [Number(r.roundNumber), r]));
  for (const [n, round] of ledgerRounds) {
    const cached = cachedRounds.get(n);
    if (!cached) differences.push(`round ${n}: on the ledger (digest ${show(round.roundDigest)}), not in the cache`);
    else for (const d of fieldDifferences(cached, round)) differences.push(`round ${n}: ${d}`);
  }
  for (const n of cachedRounds.keys()) if (!ledgerRounds.has(n)) differences.push(`round ${n}: in the cache, not on the ledger`);

  const current = await c.passports.findOne({ _id: id });
  const latest = [...ledgerVersions.values()].sort((a, b) => Number(b.value!.version) - Number(a.value!.version))[0];
  if (!current && latest) differences.push(`current: the cache has no passport ${id}`);
  if (current && latest) for (const d of fieldDifferences(recordOf(current), latest.value!)) differences.push(`current: ${d}`);
  return { passportId: id, ok: differences.length === 0, checked: { versions: ledgerVersions.size, rounds: ledgerRounds.size }, differences };
}

const STATUSES = ['DRAFT', 'ACTIVE', 'SUSPENDED', 'DEPRECATED', 'REVOKED'];

export interface VerifyResult {
  ok: boolean;
  passports: AuditResult[];
  /** Datasets and grants of the cache that differ from the ledger. */
  others: string[];
  checked: { passports: number; versions: number; rounds: number; datasets: number; grants: number };
}

/** The whole cache against the ledger: every passport on either side, every cached dataset and grant. */
export async function verifyCache(db: Db, ledger: LedgerGateway, reader: SigningIdentity): Promise<VerifyResult> {
  const c = collectionsOf(db);
  const onLedger: string[] = [];
  for (const status of STATUSES) onLedger.push(...(await allPages<{ id: string }>(ledger, reader, 'passport:QueryByStatus', [status])).map((p) => p.id));
  const inCache = (await c.passports.find({}, { projection: { _id: 1 } }).toArray()).map((p) => p._id);
  const ids = [...new Set([...onLedger, ...inCache])].sort();
  const passports: AuditResult[] = [];
  for (const id of ids) passports.push(await auditPassport(db, ledger, reader, id));

  const others: string[] = [];
  const datasets = await c.datasets.find({}).toArray();
  for (const d of datasets) {
    try {
      const onChain = JSON.parse(await ledger.evaluate(reader, 'dataset:Read', [d._id])) as Record<string, unknown>;
      for (const diff of fieldDifferences(recordOf(d), onChain)) others.push(`dataset ${d._id}: ${diff}`);
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err;
      others.push(`dataset ${d._id}: in the cache, not on the ledger (${err.message})`);
    }
  }
  const grants = await c.grants.find({}).toArray();
  for (const g of grants) {
    const check = JSON.parse(await ledger.evaluate(reader, 'dataset:CheckGrant', [String(g.datasetId), String(g.subject), ''])) as { grant: Record<string, unknown> | null };
    if (!check.grant) others.push(`grant ${g._id}: in the cache, not on the ledger`);
    else for (const diff of fieldDifferences(recordOf(g), check.grant)) others.push(`grant ${g._id}: ${diff}`);
  }
  const checked = {
    passports: ids.length,
    versions: passports.reduce((n, p) => n + p.checked.versions, 0),
    rounds: passports.reduce((n, p) => n + p.checked.rounds, 0),
    datasets: datasets.length,
    grants: grants.length,
  };
  return { ok: others.length === 0 && passports.every((p) => p.ok), passports, others, checked };
}
