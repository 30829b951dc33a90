import type { Dataset, Grant, Passport } from '@fedledger/ledger-host';
import { UsageError } from '../errors';
import type { Io } from '../io';
import { LEDGER_CLIENT_HELP, readJsonFile, runLedgerCommand, type LedgerClient, type Subcommand } from '../ledger-client';
import type { Command } from './command';

const help = `Usage: fedledger dataset register --as <centre-org>/<user> --file dataset.json [--json]
       fedledger dataset grant <dataset> --passport <id> --purpose <purpose> --expires <ISO time> --as <org>/<user> [--organisation <org>] [--json]
       fedledger dataset revoke <dataset> --passport <id> --as <org>/<user> [--json]
       fedledger dataset check <dataset> --passport <id> [--purpose <purpose>] [--json]

Datasets of the centres and their data-use grants on the local embedded ledger (the ai-passport chaincode).

register  a centre user (role centre) registers a dataset it holds from a JSON file: id, description, modality,
          size, usagePolicy { allowedPurposes, allowedOrganisations, expiresAt }
grant     the dataset's owner lets a passport train on it for a purpose until a time, within the usage policy;
          the organisation defaults to the MSP id of the passport's owner
revoke    the dataset's owner withdraws the grant of a passport
check     is there a live grant for the passport now (and for --purpose)? exits 0 when there is, else 1

Refusals of the chaincode (not the owner, outside the usage policy, …) print as one line and exit 1.

Options:
  --file <file>          the dataset (register)
  --passport <id>        the passport the grant is for (grant, revoke, check)
  --purpose <purpose>    one of the dataset's allowed purposes (grant; check, optional)
  --expires <ISO time>   when the grant ends (grant)
  --organisation <org>   the organisation the grant is for (grant)
${LEDGER_CLIENT_HELP}`;

type Sub = 'register' | 'grant' | 'revoke' | 'check';

interface Values {
  json: boolean;
  file?: string;
  passport?: string;
  purpose?: string;
  expires?: string;
  organisation?: string;
}

function required(values: Values, flag: 'passport' | 'purpose' | 'expires', command: string): string {
  const value = values[flag];
  if (value === undefined || value === '') throw new UsageError(`give --${flag}`, command);
  return value;
}

async function register(client: LedgerClient, values: Values, io: Io): Promise<number> {
  const input = readJsonFile(values.file, io, 'dataset register');
  const dataset = JSON.parse(await client.submit('dataset:Register', [JSON.stringify(input)])) as Dataset;
  io.out(values.json ? JSON.stringify(dataset) : `registered dataset ${dataset.id}, owner ${dataset.owner.mspId}/${dataset.owner.commonName}, policy until ${dataset.usagePolicy.expiresAt}`);
  return 0;
}

async function grant(client: LedgerClient, datasetId: string, values: Values, io: Io): Promise<number> {
  const subject = required(values, 'passport', 'dataset grant');
  const purpose = required(values, 'purpose', 'dataset grant');
  const expires = required(values, 'expires', 'dataset grant');
  const organisation = values.organisation ?? (JSON.parse(await client.evaluate('passport:Read', [subject])) as Passport).owner.mspId;
  const input = { subject, organisation, purpose, expiresAt: expires };
  const issued = JSON.parse(await client.submit('dataset:Grant', [datasetId, JSON.stringify(input)])) as Grant;
  io.out(values.json ? JSON.stringify(issued) : `granted dataset ${datasetId} to ${subject} (${organisation}) for ${purpose} until ${issued.expiresAt}`);
  return 0;
}

async function revoke(client: LedgerClient, datasetId: string, values: Values, io: Io): Promise<number> {
  const subject = required(values, 'passport', 'dataset revoke');
  const revoked = JSON.parse(await client.submit('dataset:RevokeGrant', [datasetId, subject])) as Grant;
  io.out(values.json ? JSON.stringify(revoked) : `revoked the grant of dataset ${datasetId} to ${subject}`);
  return 0;
}

async function check(client: LedgerClient, datasetId: string, values: Values, io: Io): Promise<number> {
  const subject = required(values, 'passport', 'dataset check');
  const answer = JSON.parse(await client.evaluate('dataset:CheckGrant', [datasetId, subject, values.purpose ?? ''])) as { live: boolean; reason: string };
  io.out(values.json ? JSON.stringify(answer) : `dataset ${datasetId} for ${subject}: ${answer.live ? 'live' : 'not live'}, ${answer.reason}`);
  return answer.live ? 0 : 1;
}

const DATASET_ID = { positionals: 1, what: 'a dataset id' };
const SUBCOMMANDS: Record<Sub, Subcommand> = {
  register: { positionals: 0, what: 'no positional argument', signs: true },
  grant: { ...DATASET_ID, signs: true },
  revoke: { ...DATASET_ID, signs: true },
  check: { ...DATASET_ID, signs: false },
};

const OPTIONS = {
  file: { type: 'string' },
  passport: { type: 'string' },
  purpose: { type: 'string' },
  expires: { type: 'string' },
  organisation: { type: 'string' },
} as const;

export const datasetCommand: Command = {
  name: 'dataset',
  summary: 'register datasets and grant passports the use of them on the local ledger',
  help,
  run: (args: string[], io: Io) =>
    runLedgerCommand({ name: 'dataset', help, subcommands: SUBCOMMANDS, options: OPTIONS }, args, io, (sub, client, values, [datasetId]) => {
      switch (sub) {
        case 'register':
          return register(client, values, io);
        case 'grant':
          return grant(client, datasetId, values, io);
        case 'revoke':
          return revoke(client, datasetId, values, io);
        case 'check':
          return check(client, datasetId, values, io);
      }
    }),
};
