import path from 'node:path';
import { parseArgs } from 'node:util';
import { addIdentity, DEFAULT_ORGANISATIONS, IdentityError, initOrganisations, listIdentities, ROLES } from '@fedledger/identity';
import { parseCommandArgs } from '../args';
import { CliError, UsageError } from '../errors';
import { displayPath, table, type Io } from '../io';
import type { Command } from './command';

const DEFAULT_DIR = '.data/identities';

const help = `Usage: fedledger identity init [--dir <dir>] [--json]
       fedledger identity add --org <org> --user <name> --role <role> [--dir <dir>] [--json]
       fedledger identity list [--dir <dir>] [--json]

init creates the organisations of the local stack as Fabric MSP folders, as cryptogen lays them out:
  <dir>/organizations/<domain>/ca/{ca-cert.pem,priv_sk}          the organisation's CA (ECDSA P-256)
  <dir>/organizations/<domain>/msp/{cacerts/ca-cert.pem,config.yaml}  its MSP, NodeOUs on
  <dir>/organizations/<domain>/users/<name>@<domain>/msp/         signcerts/cert.pem, keystore/priv_sk, …
with an Admin (OU=admin) in each: ${DEFAULT_ORGANISATIONS.map((o) => `${o.id} (${o.mspId})`).join(', ')}.
An organisation already there is kept, not regenerated.

add issues a user a certificate signed by its organisation's CA, with OU=client and the role as the Fabric CA
attribute extension (1.2.3.4.5.6.7.8.1), so chaincode reads it with ctx.clientIdentity.getAttributeValue('role').

Options:
  --dir <dir>      where the identities live (default ${DEFAULT_DIR})
  --org <org>      the organisation: its id, MSP id or domain (add)
  --user <name>    letters, digits, '.', '_' or '-' (add)
  --role <role>    ${ROLES.join(', ')} (add)
  --json           the result as one JSON object on stdout`;

const COMMON = {
  dir: { type: 'string', default: DEFAULT_DIR },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs a library call, turning its refusals into one-line CLI errors. */
async function refusals<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof IdentityError) throw new CliError(err.message);
    throw err;
  }
}

async function runInit(dir: string, json: boolean, io: Io): Promise<number> {
  const orgs = await refusals(() => initOrganisations(dir));
  if (json) {
    io.out(JSON.stringify({ dir, organisations: orgs }));
    return 0;
  }
  const created = orgs.filter((o) => o.status === 'created').length;
  io.out(`${created} organisation${created === 1 ? '' : 's'} created, ${orgs.length - created} kept, in ${displayPath(dir, io.cwd)}`);
  io.out(table([['org', 'msp id', 'status', 'folder'], ...orgs.map((o) => [o.id, o.mspId, o.status, displayPath(o.dir, io.cwd)])]));
  return 0;
}

async function runAdd(dir: string, values: { org?: string; user?: string; role?: string; json: boolean }, io: Io): Promise<number> {
  for (const flag of ['org', 'user', 'role'] as const) {
    if (values[flag] === undefined || values[flag] === '') throw new UsageError(`give --${flag}`, 'identity add');
  }
  const identity = await refusals(() => addIdentity(dir, { org: values.org!, user: values.user!, role: values.role! }));
  if (values.json) {
    const { privateKeyPem: _key, ...shown } = identity;
    io.out(JSON.stringify(shown));
    return 0;
  }
  io.out(`issued ${identity.user} of ${identity.org} (${identity.mspId}), role ${identity.role ?? '-'}: ${displayPath(identity.mspDir, io.cwd)}`);
  return 0;
}

function runList(dir: string, json: boolean, io: Io): number {
  const orgs = listIdentities(dir);
  if (json) {
    io.out(JSON.stringify({ dir, organisations: orgs }));
    return 0;
  }
  if (orgs.length === 0) {
    io.out(`no organisations in ${displayPath(dir, io.cwd)} (fedledger identity init creates them)`);
    return 0;
  }
  const rows = orgs.flatMap((o) => o.users.map((u) => [o.id, o.mspId, u.user, u.type, u.role ?? '-', u.notAfter.slice(0, 10)]));
  io.out(table([['org', 'msp id', 'user', 'type', 'role', 'expires'], ...rows]));
  return 0;
}

export const identityCommand: Command = {
  name: 'identity',
  summary: 'create the organisations (Fabric MSP folders) and issue users X.509 certificates with a role',
  help,
  async run(args: string[], io: Io): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === '--help' || sub === '-h') {
      io.out(help);
      return 2;
    }
    if (sub !== 'init' && sub !== 'add' && sub !== 'list') throw new UsageError(`unknown subcommand '${sub}' (init, add or list)`);
    const command = `identity ${sub}`;
    const options = sub === 'add' ? { ...COMMON, org: { type: 'string' }, user: { type: 'string' }, role: { type: 'string' } } as const : COMMON;
    const { values } = parseCommandArgs(command, () => parseArgs({ args: rest, strict: true, allowPositionals: false, options }));
    if (values.help === true) {
      io.out(help);
      return 2;
    }
    const dir = path.resolve(io.cwd, values.dir);
    if (sub === 'init') return runInit(dir, values.json, io);
    if (sub === 'list') return runList(dir, values.json, io);
    return runAdd(dir, values as typeof values & { org?: string; user?: string; role?: string }, io);
  },
};
