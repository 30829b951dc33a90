/**
 * What `fedledger passport` and `fedledger dataset` share: the local embedded ledger (libs/ledger-host), the
 * caller's identity from the identity folder (`--as org/user`, signing locally) and refusals as one line.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ADMIN_USER, IdentityError, loadIdentity, readOrganisations, type Identity } from '@fedledger/identity';
import { LedgerError } from '@fedledger/ledger';
import { DEFAULT_IDENTITY_DIR, DEFAULT_LEDGER_DIR, LedgerHostError, openLedger, type LedgerMode } from '@fedledger/ledger-host';
import { FABRIC_ORGS } from '@fedledger/local-stack';
import { parseCommandArgs } from './args';
import { CliError, UsageError } from './errors';
import { displayPath, type Io } from './io';
import { fabricConnectionFile, ledgerModeOf } from './ledger-mode';
import { MODEL_ARTEFACT } from './model-artefact';

/** Options of every ledger client command. */
export const LEDGER_CLIENT_OPTIONS = {
  as: { type: 'string' },
  ledger: { type: 'string' },
  'ledger-dir': { type: 'string', default: DEFAULT_LEDGER_DIR },
  'identity-dir': { type: 'string', default: DEFAULT_IDENTITY_DIR },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

export const LEDGER_CLIENT_HELP = `  --as <org>/<user>     who signs: a user issued by \`fedledger identity add\` (reads default to an Admin)
  --ledger <kind>       embedded, or fabric: the network \`fedledger up --ledger fabric\` runs (the default while
                        it runs, found next to the identity folder)
  --ledger-dir <dir>    the embedded ledger's folder (default ${DEFAULT_LEDGER_DIR})
  --identity-dir <dir>  where the identities live (default ${DEFAULT_IDENTITY_DIR})
  --json                the result as one JSON object on stdout`;

export interface ClientValues {
  as?: string;
  ledger?: string;
  'ledger-dir': string;
  'identity-dir': string;
}

/** A caller's view of the local ledger: submit (ordered) or evaluate (read) one transaction as one identity. */
export interface LedgerClient {
  submit(txName: string, args: string[]): Promise<string>;
  evaluate(txName: string, args: string[]): Promise<string>;
}

/** Runs a call, turning the refusals of the chaincode, the ledger and the identity folder into one-line CLI errors. */
export async function refusals<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof LedgerError || err instanceof LedgerHostError || err instanceof IdentityError) throw new CliError(err.message);
    throw err;
  }
}

function signer(identityDir: string, as: string | undefined, command: string, mode: LedgerMode): Identity {
  if (as === undefined) {
    // Reads go out as an Admin: of the first organisation, or on Fabric of the first one in the channel.
    const orgs = readOrganisations(identityDir);
    const org = mode === 'fabric' ? (orgs.find((o) => o.id === FABRIC_ORGS.peers[0]) ?? orgs[0]) : orgs[0];
    if (org === undefined) throw new LedgerHostError(`no organisations in ${identityDir}: run \`fedledger identity init\` first`);
    return loadIdentity(identityDir, org.id, ADMIN_USER);
  }
  return loadCaller(identityDir, as, command);
}

/** The identity `--as <org>/<user>` names in the identity folder (it signs ledger transactions and REST writes). */
export function loadCaller(identityDir: string, as: string, command: string): Identity {
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(as);
  if (match === null) throw new UsageError(`--as must be <org>/<user>, got '${as}'`, command);
  return loadIdentity(identityDir, match[1]!, match[2]!);
}

/**
 * Opens the ledger of `--ledger-dir`, signs as `--as` (required when `signs`), runs `work` and closes the
 * ledger whatever happens; the refusals become one-line CLI errors.
 */
export async function withLedger<T>(values: ClientValues, io: Io, command: string, signs: boolean, work: (client: LedgerClient) => Promise<T>): Promise<T> {
  if (signs && (values.as === undefined || values.as === '')) throw new UsageError('give --as <org>/<user>', command);
  const identityDir = path.resolve(io.cwd, values['identity-dir']);
  const ledgerDir = path.resolve(io.cwd, values['ledger-dir']);
  return refusals(async () => {
    const mode = ledgerModeOf(values.ledger, path.dirname(identityDir), command);
    const identity = signer(identityDir, values.as, command, mode);
    const ledger = openLedger({ mode, ledgerDir, identityDir, fabricConnection: fabricConnectionFile(path.dirname(identityDir)), reader: identity });
    try {
      return await work({
        submit: async (txName, args) => (await ledger.submit(identity, txName, args)).result,
        evaluate: (txName, args) => ledger.evaluate(identity, txName, args),
      });
    } finally {
      await ledger.close();
    }
  });
}

/** A JSON file given with --file, parsed (checked to be JSON here, validated by the chaincode). */
export function readJsonValue(file: string | undefined, io: Io, command: string): unknown {
  if (file === undefined || file === '') throw new UsageError('give --file <file.json>', command);
  const full = path.resolve(io.cwd, file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${displayPath(full, io.cwd)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError(`${displayPath(full, io.cwd)} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A JSON file given with --file that must hold one object. */
export function readJsonFile(file: string | undefined, io: Io, command: string): Record<string, unknown> {
  const value = readJsonValue(file, io, command);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new CliError(`${displayPath(path.resolve(io.cwd, file!), io.cwd)} must hold a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * `sha256:<hex>` of a file, the digest format of the chaincode. A folder stands for the model exported in it:
 * its `model.flw`, the federation's aggregate as recorded on the passport.
 */
export function fileDigest(file: string, io: Io): string {
  let full = path.resolve(io.cwd, file);
  if (existsSync(full) && statSync(full).isDirectory()) {
    full = path.join(full, MODEL_ARTEFACT);
    if (!existsSync(full)) throw new CliError(`${displayPath(path.dirname(full), io.cwd)} is a folder without ${MODEL_ARTEFACT}: give the model file`);
  }
  try {
    return `sha256:${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
  } catch (err) {
    throw new CliError(`cannot read ${displayPath(full, io.cwd)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** What a subcommand takes after its name, and whether it signs a transaction (then --as is required). */
export interface Subcommand {
  positionals: number;
  /** The positionals in words, for the usage error. */
  what: string;
  signs: boolean;
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; strict: true; allowPositionals: true; options: typeof LEDGER_CLIENT_OPTIONS & O }>>;

/**
 * Runs `fedledger <name> <subcommand> …`: parses the shared and the command's own options strictly, checks
 * the positionals, opens the ledger and hands the subcommand a client signing as --as.
 */
export async function runLedgerCommand<S extends string, O extends Options>(
  spec: { name: string; help: string; subcommands: Record<S, Subcommand>; options: O },
  args: string[],
  io: Io,
  handle: (sub: S, client: LedgerClient, values: Parsed<O>['values'], positionals: string[]) => Promise<number>,
): Promise<number> {
  const [sub, ...rest] = args;
  const names = Object.keys(spec.subcommands) as S[];
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.out(spec.help);
    return 2;
  }
  if (!(names as string[]).includes(sub)) throw new UsageError(`unknown subcommand '${sub}' (${names.join(', ')})`);
  const command = `${spec.name} ${sub}`;
  const { values, positionals } = parseCommandArgs(command, () =>
    parseArgs({ args: rest, strict: true, allowPositionals: true, options: { ...LEDGER_CLIENT_OPTIONS, ...spec.options } }),
  ) as Parsed<O>;
  const shared = values as ClientValues & { help?: boolean };
  if (shared.help === true) {
    io.out(spec.help);
    return 2;
  }
  const shape = spec.subcommands[sub as S];
  if (positionals.length !== shape.positionals) throw new UsageError(`${command} takes ${shape.what}`, command);
  return withLedger(shared, io, command, shape.signs, (client) => handle(sub as S, client, values, positionals));
}
