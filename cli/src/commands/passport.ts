import type { Passport, Round } from '@fedledger/ledger-host';
import { UsageError } from '../errors';
import { table, type Io } from '../io';
import { fileDigest, LEDGER_CLIENT_HELP, readJsonFile, readJsonValue, runLedgerCommand, type ClientValues, type LedgerClient, type Subcommand } from '../ledger-client';
import type { Command } from './command';

const help = `Usage: fedledger passport create --as <org>/<user> --file passport.json [--id <id>] [--json]
       fedledger passport show <id> [--json]
       fedledger passport update <id> --as <org>/<user> --expected-version <n> --file changes.json [--json]
       fedledger passport history <id> [--json]
       fedledger passport artifact <id> <model file> --as <org>/<user> [--json]
       fedledger passport verify <id> <model file | exported model folder> [--json]
       fedledger passport status <id> <DRAFT|ACTIVE|SUSPENDED|DEPRECATED|REVOKED> --as <org>/<user> [--reason <text>] [--json]
       fedledger passport metrics <id> --as <org>/<user> --file metrics.json [--json]
       fedledger passport flag-bias <id> --as <org>/<user> --file bias.json [--json]
       fedledger passport resolve-bias <id> <bias id> --as <org>/<user> --reason <text> [--json]
       fedledger passport list (--owner <MSP id> | --dataset <id> | --status <status>) [--json]

AI passports on the local embedded ledger (the ai-passport chaincode, run in-process); each change is a
transaction the caller signs with its own identity.

create    a DRAFT passport owned by the caller (role developer) from a JSON file: id, description, model,
          intendedUse, trainingType, datasets, aggregators; --id sets or replaces the file's id
show      the passport and its federated rounds, each with the digest it carries and its own (the hash chain)
update    the owner changes fields of the passport (JSON file); --expected-version must be its current version
history   every committed version, oldest first
artifact  the owner records the sha256 of the released model file on the passport
verify    the sha256 of a model file against the passport's artefact digest: exits 0 when they match, else 1;
          a folder written by \`simulate\` or \`export\` stands for its model.flw (the federation's aggregate)
status    the owner moves the passport along DRAFT → ACTIVE → SUSPENDED/DEPRECATED → REVOKED (final)
metrics   the owner records evaluation metrics: a JSON list of { name, value, dataset, subgroup? }
flag-bias an auditor (role auditor) flags a bias: JSON { type, affectedGroup, severity: LOW|MEDIUM|HIGH|CRITICAL, description? }
resolve-bias  the owner resolves an open bias with --reason
list      passports of an owner organisation, trained on a dataset, or in a status (all pages)

Refusals of the chaincode (not the owner, wrong version, …) print as one line and exit 1.

Options:
  --file <file>             the JSON input (create, update)
  --id <id>                 the passport id (create)
  --expected-version <n>    the version the update applies to (update)
  --reason <text>           why (status, resolve-bias)
  --owner <MSP id>, --dataset <id>, --status <status>   what to list (list)
${LEDGER_CLIENT_HELP}`;

type Sub = 'create' | 'show' | 'update' | 'history' | 'artifact' | 'verify' | 'status' | 'metrics' | 'flag-bias' | 'resolve-bias' | 'list';

interface Values extends ClientValues {
  json: boolean;
  file?: string;
  id?: string;
  'expected-version'?: string;
  reason?: string;
  owner?: string;
  dataset?: string;
  status?: string;
}

interface Page<T> {
  records: T[];
  bookmark: string;
}

/** Every record of a paged query (`args` then page size and bookmark), through the chaincode's pages. */
async function allPages<T>(client: LedgerClient, txName: string, args: string[]): Promise<T[]> {
  const records: T[] = [];
  let bookmark = '';
  for (;;) {
    const page = JSON.parse(await client.evaluate(txName, [...args, '100', bookmark])) as Page<T>;
    records.push(...page.records);
    if (page.bookmark === '' || page.records.length === 0) return records;
    bookmark = page.bookmark;
  }
}

/** Every round of a passport. */
function allRounds(client: LedgerClient, id: string): Promise<Round[]> {
  return allPages<Round>(client, 'passport:ListRounds', [id]);
}

/** Does every round carry the digest of the one before it (null for round 1)? */
function chainIntact(rounds: Round[]): boolean {
  return rounds.every((r, i) => r.previousRoundDigest === (i === 0 ? null : rounds[i - 1].roundDigest));
}

const short = (digest: string | null) => (digest === null ? '-' : `${digest.slice(0, 19)}…`);

function describe(p: Passport): string {
  return `passport ${p.id} v${p.version} ${p.status}, owner ${p.owner.mspId}/${p.owner.commonName}: ${p.model.name} ${p.model.version}`;
}

async function create(client: LedgerClient, values: Values, io: Io): Promise<number> {
  const input = readJsonFile(values.file, io, 'passport create');
  if (values.id !== undefined) input.id = values.id;
  const passport = JSON.parse(await client.submit('passport:Create', [JSON.stringify(input)])) as Passport;
  io.out(values.json ? JSON.stringify(passport) : `created ${describe(passport)}`);
  return 0;
}

async function show(client: LedgerClient, id: string, json: boolean, io: Io): Promise<number> {
  const passport = JSON.parse(await client.evaluate('passport:Read', [id])) as Passport;
  const rounds = await allRounds(client, id);
  const intact = chainIntact(rounds);
  if (json) {
    io.out(JSON.stringify({ passport, rounds, roundChainIntact: intact }));
    return 0;
  }
  io.out(describe(passport));
  io.out(`  ${passport.description}`);
  io.out(`  trainingType ${passport.trainingType}; datasets ${passport.datasets.map((d) => `${d.datasetId} (${d.role}, ${d.centre})`).join(', ') || '-'}`);
  io.out(`  artefact ${passport.artifactDigest ?? '-'}`);
  if (rounds.length === 0) {
    io.out('  no rounds');
    return 0;
  }
  io.out(`  ${rounds.length} round${rounds.length === 1 ? '' : 's'}, digest chain ${intact ? 'intact' : 'BROKEN'}:`);
  io.out(table([['round', 'previous', 'digest', 'aggregate', 'aggregator'], ...rounds.map((r) => [String(r.roundNumber), short(r.previousRoundDigest), short(r.roundDigest), short(r.aggregateDigest), r.aggregator])], '    '));
  return 0;
}

async function update(client: LedgerClient, id: string, values: Values, io: Io): Promise<number> {
  const raw = values['expected-version'];
  if (raw === undefined || !/^\d+$/.test(raw)) throw new UsageError(`give --expected-version <n>, a whole number${raw === undefined ? '' : `, got '${raw}'`}`, 'passport update');
  const changes = readJsonFile(values.file, io, 'passport update');
  const passport = JSON.parse(await client.submit('passport:Update', [id, raw, JSON.stringify(changes)])) as Passport;
  io.out(values.json ? JSON.stringify(passport) : `updated ${describe(passport)}`);
  return 0;
}

interface Version {
  txId: string;
  timestamp: string;
  isDelete: boolean;
  value: Passport | null;
}

async function history(client: LedgerClient, id: string, json: boolean, io: Io): Promise<number> {
  const versions = JSON.parse(await client.evaluate('passport:History', [id])) as Version[];
  if (json) {
    io.out(JSON.stringify({ id, versions }));
    return 0;
  }
  io.out(`passport ${id}: ${versions.length} version${versions.length === 1 ? '' : 's'}`);
  io.out(table([['version', 'status', 'time', 'tx'], ...versions.map((v) => [String(v.value?.version ?? '-'), v.value?.status ?? 'deleted', v.timestamp, v.txId])]));
  return 0;
}

async function artifact(client: LedgerClient, id: string, file: string, json: boolean, io: Io): Promise<number> {
  const digest = fileDigest(file, io);
  const passport = JSON.parse(await client.submit('passport:RecordArtifact', [id, digest])) as Passport;
  io.out(json ? JSON.stringify(passport) : `recorded artefact ${digest} on ${describe(passport)}`);
  return 0;
}

async function verify(client: LedgerClient, id: string, file: string, json: boolean, io: Io): Promise<number> {
  const digest = fileDigest(file, io);
  const answer = JSON.parse(await client.evaluate('passport:VerifyArtifact', [id, digest])) as { match: boolean; recordedDigest: string | null; version: number };
  if (json) io.out(JSON.stringify({ ...answer, file, digest }));
  else if (answer.match) io.out(`${file} matches the artefact of passport ${id} (v${answer.version}): ${digest}`);
  else if (answer.recordedDigest === null) io.out(`passport ${id} has no artefact recorded; ${file} is ${digest}`);
  else io.out(`${file} does NOT match the artefact of passport ${id}: ${digest}, recorded ${answer.recordedDigest}`);
  return answer.match ? 0 : 1;
}

async function setStatus(client: LedgerClient, id: string, status: string, values: Values, io: Io): Promise<number> {
  const passport = JSON.parse(await client.submit('passport:SetStatus', [id, status, values.reason ?? ''])) as Passport;
  io.out(values.json ? JSON.stringify(passport) : `status set: ${describe(passport)}`);
  return 0;
}

async function metrics(client: LedgerClient, id: string, values: Values, io: Io): Promise<number> {
  const input = readJsonValue(values.file, io, 'passport metrics');
  const passport = JSON.parse(await client.submit('passport:RecordMetrics', [id, JSON.stringify(input)])) as Passport;
  io.out(values.json ? JSON.stringify(passport) : `recorded ${Array.isArray(input) ? input.length : 1} metric(s) on ${describe(passport)}`);
  return 0;
}

async function flagBias(client: LedgerClient, id: string, values: Values, io: Io): Promise<number> {
  const input = readJsonFile(values.file, io, 'passport flag-bias');
  const passport = JSON.parse(await client.submit('passport:FlagBias', [id, JSON.stringify(input)])) as Passport;
  const bias = passport.biases[passport.biases.length - 1];
  io.out(values.json ? JSON.stringify(passport) : `flagged ${bias?.biasId ?? 'a bias'} (${bias?.severity ?? ''}) on ${describe(passport)}`);
  return 0;
}

async function resolveBias(client: LedgerClient, id: string, biasId: string, values: Values, io: Io): Promise<number> {
  if (values.reason === undefined || values.reason === '') throw new UsageError('give --reason <text>: how the bias was resolved', 'passport resolve-bias');
  const passport = JSON.parse(await client.submit('passport:ResolveBias', [id, biasId, values.reason])) as Passport;
  io.out(values.json ? JSON.stringify(passport) : `resolved ${biasId} on ${describe(passport)}`);
  return 0;
}

async function list(client: LedgerClient, values: Values, io: Io): Promise<number> {
  const given = (['owner', 'dataset', 'status'] as const).filter((k) => values[k] !== undefined);
  if (given.length !== 1) throw new UsageError('give one of --owner <MSP id>, --dataset <id>, --status <status>', 'passport list');
  const passports =
    values.owner !== undefined
      ? await allPages<Passport>(client, 'passport:QueryByOwner', [values.owner, ''])
      : values.dataset !== undefined
        ? await allPages<Passport>(client, 'passport:QueryByDataset', [values.dataset])
        : await allPages<Passport>(client, 'passport:QueryByStatus', [values.status!]);
  if (values.json) {
    io.out(JSON.stringify({ passports }));
    return 0;
  }
  if (passports.length === 0) io.out('no passports');
  else io.out(table([['id', 'version', 'status', 'owner', 'model', 'rounds', 'artefact'], ...passports.map((p) => [p.id, String(p.version), p.status, `${p.owner.mspId}/${p.owner.commonName}`, p.model.name, String(p.roundCount), short(p.artifactDigest)])]));
  return 0;
}

const SUBCOMMANDS: Record<Sub, Subcommand> = {
  create: { positionals: 0, what: 'no positional argument', signs: true },
  show: { positionals: 1, what: 'a passport id', signs: false },
  update: { positionals: 1, what: 'a passport id', signs: true },
  history: { positionals: 1, what: 'a passport id', signs: false },
  artifact: { positionals: 2, what: 'a passport id and a model file', signs: true },
  verify: { positionals: 2, what: 'a passport id and a model file', signs: false },
  status: { positionals: 2, what: 'a passport id and a status', signs: true },
  metrics: { positionals: 1, what: 'a passport id', signs: true },
  'flag-bias': { positionals: 1, what: 'a passport id', signs: true },
  'resolve-bias': { positionals: 2, what: 'a passport id and a bias id', signs: true },
  list: { positionals: 0, what: 'no positional argument', signs: false },
};

const OPTIONS = {
  file: { type: 'string' },
  id: { type: 'string' },
  'expected-version': { type: 'string' },
  reason: { type: 'string' },
  owner: { type: 'string' },
  dataset: { type: 'string' },
  status: { type: 'string' },
} as const;

export const passportCommand: Command = {
  name: 'passport',
  summary: 'create, show, update, verify, query AI passports (status, metrics, biases) on the local ledger',
  help,
  run: (args: string[], io: Io) =>
    runLedgerCommand({ name: 'passport', help, subcommands: SUBCOMMANDS, options: OPTIONS }, args, io, (sub, client, values, [id, file]) => {
      switch (sub) {
        case 'create':
          return create(client, values, io);
        case 'show':
          return show(client, id, values.json, io);
        case 'update':
          return update(client, id, values, io);
        case 'history':
          return history(client, id, values.json, io);
        case 'artifact':
          return artifact(client, id, file, values.json, io);
        case 'verify':
          return verify(client, id, file, values.json, io);
        case 'status':
          return setStatus(client, id, file, values, io);
        case 'metrics':
          return metrics(client, id, values, io);
        case 'flag-bias':
          return flagBias(client, id, values, io);
        case 'resolve-bias':
          return resolveBias(client, id, file, values, io);
        case 'list':
          return list(client, values, io);
      }
    }),
};
