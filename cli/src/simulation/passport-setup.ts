import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ensureIdentity, initOrganisations, readOrganisations, type Identity } from '@fedledger/identity';
import { LedgerError, signPrepared, type LedgerGateway, type Proposal } from '@fedledger/ledger';
import type { Passport } from '@fedledger/ledger-host';
import { CliError } from '../errors';
import type { CentreFolders } from './centre-data';

/** Who owns the passports `simulate` creates (a developer of the coordinating organisation). */
export const SIMULATION_DEVELOPER = { org: 'ub', user: 'dev-1' } as const;
/** The passport-registry's own identity (role aggregator): it records every round. */
export const REGISTRY_USER = { org: 'ub', user: 'passport-registry' } as const;
/** Each centre's organisation registers its dataset and grants training on it as this user (role centre). */
export const CENTRE_STEWARD = 'data-steward';

/** What the passport setup needs of the ledger: reads, and transactions signed here by their authors. */
export interface PassportLedger {
  readDataset(id: string): Promise<unknown>;
  readPassport(id: string): Promise<Passport | undefined>;
  submit<T>(who: Identity, txName: string, args: string[]): Promise<T>;
}

/** The registry's REST API, with transactions signed here by their authors (prepare → sign locally → submit). */
export class RegistryClient implements PassportLedger {
  constructor(readonly url: string) {}

  readDataset(id: string): Promise<unknown> {
    return this.get(`/datasets/${encodeURIComponent(id)}`);
  }

  readPassport(id: string): Promise<Passport | undefined> {
    return this.get<Passport>(`/passports/${encodeURIComponent(id)}`);
  }

  /** GET; undefined on 404. */
  async get<T>(pathname: string): Promise<T | undefined> {
    const res = await fetch(`${this.url}${pathname}`);
    if (res.status === 404) return undefined;
    const body = (await res.json()) as unknown;
    if (!res.ok) throw new CliError(`GET ${pathname} on the passport-registry answered ${res.status}: ${messageOf(body)}`);
    return body as T;
  }

  /** Submits `txName(args)` signed by `who`; the chaincode's refusal becomes a CliError with its reason. */
  async submit<T>(who: Identity, txName: string, args: string[]): Promise<T> {
    const prepared = await this.post<{ proposal: Proposal }>('/transactions/prepare', { txName, args, creator: { mspId: who.mspId, certPem: who.certPem } }, txName);
    const submitted = await this.post<{ result: T }>('/transactions/submit', signPrepared(who, prepared.proposal), txName);
    return submitted.result;
  }

  private async post<T>(pathname: string, body: unknown, txName: string): Promise<T> {
    const res = await fetch(`${this.url}${pathname}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = (await res.json()) as unknown;
    if (!res.ok) throw new CliError(`${txName} refused by the ledger (${res.status}): ${messageOf(answer)}`);
    return answer as T;
  }
}

/**
 * A ledger reached directly with the callers' own keys (a Fabric network: every member submits to its peers
 * itself; the registry there only records rounds).
 */
export class DirectLedger implements PassportLedger {
  constructor(
    private readonly ledger: LedgerGateway,
    private readonly reader: Identity,
  ) {}

  private async read<T>(txName: string, id: string): Promise<T | undefined> {
    try {
      return JSON.parse(await this.ledger.evaluate(this.reader, txName, [id])) as T;
    } catch (err) {
      if (err instanceof LedgerError && /does not exist/.test(err.message)) return undefined;
      throw err;
    }
  }

  readDataset(id: string): Promise<unknown> {
    return this.read('dataset:Read', id);
  }

  readPassport(id: string): Promise<Passport | undefined> {
    return this.read<Passport>('passport:Read', id);
  }

  async submit<T>(who: Identity, txName: string, args: string[]): Promise<T> {
    try {
      return JSON.parse((await this.ledger.submit(who, txName, args)).result) as T;
    } catch (err) {
      if (err instanceof LedgerError) throw new CliError(`${txName} refused by the ledger: ${err.message}`);
      throw err;
    }
  }
}

function messageOf(body: unknown): string {
  return typeof body === 'object' && body !== null && 'message' in body ? String((body as { message: unknown }).message) : JSON.stringify(body);
}

export interface SimulationIdentities {
  developer: Identity;
  /** The passport-registry's aggregator identity, authorised on the passports. */
  registry: Identity;
  /** Centre id → its organisation's data steward; centres without an organisation of that id have none. */
  stewards: Map<string, Identity>;
}

/**
 * The identities a simulation signs with, in `identityDir`: the local organisations (created when there are
 * none), a developer owning the passport, the registry's aggregator identity, and a data steward in each centre
 * whose id is an organisation's (the synthetic centres are).
 */
export async function simulationIdentities(
  identityDir: string,
  centres: readonly string[],
  progress: (line: string) => void,
  /** Organisations that are members of the ledger (a Fabric channel has only some); all by default. */
  members?: readonly string[],
): Promise<SimulationIdentities> {
  if (readOrganisations(identityDir).length === 0) {
    progress(`creating the local organisations' identities (MSP folders) in ${identityDir}`);
    await initOrganisations(identityDir);
  }
  const developer = await ensureIdentity(identityDir, { ...SIMULATION_DEVELOPER, role: 'developer' });
  const registry = await ensureIdentity(identityDir, { ...REGISTRY_USER, role: 'aggregator' });
  const orgs = new Set(readOrganisations(identityDir).map((o) => o.id));
  const stewards = new Map<string, Identity>();
  for (const centre of centres) {
    if (orgs.has(centre) && (!members || members.includes(centre))) stewards.set(centre, await ensureIdentity(identityDir, { org: centre, user: CENTRE_STEWARD, role: 'centre' }));
  }
  return { developer, registry, stewards };
}

/** Records of a centre folder (rows of labels.csv or data.csv). */
function recordCount(dir: string): number {
  const file = [path.join(dir, 'labels.csv'), path.join(dir, 'data.csv')].find((f) => existsSync(f));
  if (!file) return 1;
  return Math.max(1, readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').length - 1);
}

const DAY_MS = 24 * 3600 * 1000;

/** The ledger id of a centre's dataset as simulate registers it: `<data folder name>-<centre>`. */
export function datasetIdOf(folders: CentreFolders | undefined, centre: string): string {
  return `${folders ? path.basename(folders.root) : 'synthetic'}-${centre}`;
}

export interface PassportPlan {
  experimentId: string;
  model: string;
  strategy: string;
  rounds: number;
  folders?: CentreFolders;
}

/**
 * Puts the experiment on the ledger before it starts: each centre's dataset (registered by its steward if it is
 * not yet), the experiment's AI passport (owner: the developer; authorised aggregator: the registry) and each
 * centre's grant to train that passport on its dataset. Returns the passport id.
 */
export async function createExperimentPassport(registry: PassportLedger, ids: SimulationIdentities, plan: PassportPlan): Promise<string> {
  const passportId = `passport-${plan.experimentId}`;
  const now = Date.now();
  const datasets: { centre: string; datasetId: string; steward: Identity }[] = [];
  for (const [centre, steward] of ids.stewards) {
    const datasetId = datasetIdOf(plan.folders, centre);
    datasets.push({ centre, datasetId, steward });
    if (await registry.readDataset(datasetId)) continue;
    const dir = plan.folders?.centres.get(centre);
    await registry.submit(steward, 'dataset:Register', [
      JSON.stringify({
        id: datasetId,
        description: `${centre}: ${plan.folders?.kind === 'tabular' ? 'tabular records' : 'mammograms (DICOM), benign vs malignant'} in ${dir ?? 'the centre'}`,
        modality: plan.folders?.kind === 'tabular' ? 'tabular' : 'MG',
        size: dir ? recordCount(dir) : 1,
        usagePolicy: { allowedPurposes: ['training', 'evaluation'], allowedOrganisations: [ids.developer.mspId], expiresAt: new Date(now + 365 * DAY_MS).toISOString() },
      }),
    ]);
  }
  await registry.submit<Passport>(ids.developer, 'passport:Create', [
    JSON.stringify({
      id: passportId,
      description: `${plan.model} trained by federated learning (${plan.strategy}, ${plan.rounds} rounds) across ${datasets.length || 'the'} centres in experiment ${plan.experimentId}`,
      model: { name: plan.model, version: plan.experimentId, architecture: plan.model, task: 'binary classification: benign vs malignant', modality: plan.folders?.kind === 'tabular' ? 'tabular' : 'MG', framework: 'TensorFlow.js 4.22', licence: 'research only' },
      intendedUse: { primaryUses: ['research on federated breast-cancer screening'], primaryUsers: ['AI developers', 'radiologists'], outOfScopeUses: ['clinical diagnosis'] },
      trainingType: 'FEDERATED',
      datasets: datasets.map((d) => ({ datasetId: d.datasetId, role: 'train', centre: d.centre })),
      aggregators: [`${ids.registry.mspId}/${ids.registry.user}`],
    }),
  ]);
  for (const d of datasets) {
    await registry.submit(d.steward, 'dataset:Grant', [
      d.datasetId,
      JSON.stringify({ subject: passportId, organisation: ids.developer.mspId, purpose: 'training', expiresAt: new Date(now + 30 * DAY_MS).toISOString() }),
    ]);
  }
  return passportId;
}

/**
 * Waits until the registry has recorded `rounds` rounds and the final model `artefact` (`sha256:<hex>`) on the
 * passport — it does so from the events, a moment after the experiment ends.
 */
export async function awaitPassportRecorded(registry: PassportLedger, passportId: string, rounds: number, artefact: string | undefined, timeoutMs = 60_000): Promise<Passport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const passport = await registry.readPassport(passportId);
    if (passport && passport.roundCount >= rounds && (artefact === undefined || passport.artifactDigest === artefact)) return passport;
    if (Date.now() > deadline) {
      throw new CliError(
        `passport ${passportId}: the passport-registry recorded ${passport?.roundCount ?? 0} of ${rounds} rounds${artefact ? ` and ${passport?.artifactDigest === artefact ? 'the' : 'not the'} final model` : ''} within ${timeoutMs / 1000} s (see its log)`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What the ledger-indexer's audit cache holds of a passport once it caught up with the ledger. */
export interface IndexedPassport {
  version: number;
  versions: number;
  rounds: number;
  timelineUrl: string;
}

/**
 * Waits until the ledger-indexer's cache holds the passport at `version` (the registry's last write), and answers
 * its timeline with every version and round: the audit view of what the ledger recorded. The cache is new, so the
 * indexer replays the whole ledger first: it waits as long as the indexer makes progress, and gives up after
 * `stallMs` without any.
 */
export async function awaitPassportIndexed(indexerUrl: string, passportId: string, version: number, stallMs = 30_000): Promise<IndexedPassport> {
  const timelineUrl = `${indexerUrl}/passports/${encodeURIComponent(passportId)}/timeline`;
  let seen = 'nothing yet';
  let height = -1;
  let progressAt = Date.now();
  for (;;) {
    const res = await fetch(timelineUrl).catch((err: Error) => err);
    if (!(res instanceof Error) && res.ok) {
      const timeline = (await res.json()) as { passport: { version: number }; versions: unknown[]; rounds: unknown[] };
      if (timeline.passport.version >= version) return { version: timeline.passport.version, versions: timeline.versions.length, rounds: timeline.rounds.length, timelineUrl };
      seen = `it holds version ${timeline.passport.version}`;
    } else seen = res instanceof Error ? res.message : `${res.status} from ${timelineUrl}`;
    const health = (await (await fetch(`${indexerUrl}/health`).catch(() => undefined))?.json().catch(() => undefined)) as { checks?: { index?: { indexedHeight?: number } } } | undefined;
    const indexed = health?.checks?.index?.indexedHeight ?? -1;
    if (indexed > height) [height, progressAt] = [indexed, Date.now()];
    if (Date.now() - progressAt > stallMs) {
      throw new CliError(`passport ${passportId}: the ledger-indexer's cache has not reached version ${version} and made no progress for ${stallMs / 1000} s (${seen}; indexed ${Math.max(height, 0)} blocks; see its log)`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
