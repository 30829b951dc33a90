import type { Passport, Round } from '@fedledger/ledger-host';
import { UsageError } from '../errors';
import { table, type Io } from '../io';
import { fileDigest, LEDGER_CLIENT_HELP, readJsonFile, runLedgerCommand, type ClientValues, type LedgerClient, type Subcommand } from '../ledger-client';
import type { Command } from './command';

const help = `Usage: fedledger passport create --as <org>/<user> --file passport.json [--id <id>] [--json]
       fedledger passport show <id> [--json]
       fedledger passport update <id> --as <org>/<user> --expected-version <n> --file changes.json [--json]
       fedledger passport history <id> [--json]
       fedledger passport artifact <id> <model file> --as <org>/<user> [--json]
       fedledger passport verify <id> <model file> [--json]

AI passports on the local embedded ledger (the ai-passport chaincode, run in-process); each change is a
transaction the caller signs with its own identity.

create    a DRAFT passport owned by the caller (role developer) from a JSON file: id, description, model,
          intendedUse, trainingType, datasets, aggregators; --id sets or replaces the file's id
show      the passport and its federated rounds, each with the digest it carries and its own (the hash chain)
update    the owner changes fields of the passport (JSON file); --expected-version must be its current version
history   every committed version, oldest first
artifact  the owner records the sha256 of the released model file on the passport
verify    the sha256 of a model file against the passport's artefact digest: exits 0 when they match, else 1

Refusals of the chaincode (not the owner, wrong version, …) print as one line and exit 1.

Options:
  --file <file>             the JSON input (create, update)
  --id <id>                 the passport id (create)
  --expected-version <n>    the version the update applies to (update)
${LEDGER_CLIENT_HELP}`;

type Sub = 'create' | 'show' | 'update' | 'history' | 'artifact' | 'verify';

interface Values extends ClientValues {
  json: boolean;
  file?: string;
  id?: string;
  'expected-version'?: string;
}

interface Page<T> {
  records: T[];
  bookmark: string;
}

/** Every round of a passport, through the chaincode's pages. */
async function allRounds(client: LedgerClient, id: string): Promise<Round[]> {
  const rounds: Round[] = [];
  let bookmark = '';
  for (;;) {
    const page = JSON.parse(await client.evaluate('passport:ListRounds', [id, '100', bookmark])) as Page<Round>;
    rounds.push(...page.records);
    if (page.bookmark === '' || page.records.length === 0) return rounds;
    bookmark = page.bookmark;
  }
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

const SUBCOMMANDS: Record<Sub, Subcommand> = {
  create: { positionals: 0, what: 'no positional argument', signs: true },
  show: { positionals: 1, what: 'a passport id', signs: false },
  update: { positionals: 1, what: 'a passport id', signs: true },
  history: { positionals: 1, what: 'a passport id', signs: false },
  artifact: { positionals: 2, what: 'a passport id and a model file', signs: true },
  verify: { positionals: 2, what: 'a passport id and a model file', signs: false },
};

const OPTIONS = { file: { type: 'string' }, id: { type: 'string' }, 'expected-version': { type: 'string' } } as const;

export const passportCommand: Command = {
  name: 'passport',
  summary: 'create, show, update and verify AI passports on the local ledger',
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
      }
    }),
};
