import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { ADMIN_USER, IdentityError, loadIdentity, readOrganisations, type Identity } from '@fedledger/identity';
import { LedgerError, type EmbeddedLedger } from '@fedledger/ledger';
import { IndexerBusyError, LedgerIndexer, positionOf } from '@fedledger/ledger-index';
import { DEFAULT_IDENTITY_DIR, DEFAULT_LEDGER_DIR, LedgerHostError, openLocalLedger } from '@fedledger/ledger-host';
import { ensureTools, ferretComponent, freePorts, startComponent, type RunningComponent } from '@fedledger/local-stack';
import { CliError } from './errors';
import { displayPath, type Io } from './io';

export const DEFAULT_CACHE_DIR = path.join('.data', 'cache');
export const DEFAULT_CACHE_DB = 'fedledger_cache';

/** Options of the commands that read the ledger's cache. */
export const CACHE_OPTIONS = {
  'ledger-dir': { type: 'string', default: DEFAULT_LEDGER_DIR },
  'identity-dir': { type: 'string', default: DEFAULT_IDENTITY_DIR },
  'cache-dir': { type: 'string', default: DEFAULT_CACHE_DIR },
  mongo: { type: 'string' },
  db: { type: 'string', default: DEFAULT_CACHE_DB },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

export const CACHE_HELP = `  --mongo <url>         the cache of a running ledger-indexer (MongoDB or FerretDB; env FEDLEDGER_MONGO_URL);
                        without it a private FerretDB runs on --cache-dir for the command
  --cache-dir <dir>     where that private cache keeps its data (default ${DEFAULT_CACHE_DIR})
  --db <name>           the cache's database (default ${DEFAULT_CACHE_DB})
  --ledger-dir <dir>    the embedded ledger the cache mirrors (default ${DEFAULT_LEDGER_DIR})
  --identity-dir <dir>  the organisations' identities (default ${DEFAULT_IDENTITY_DIR})
  --json                the result as one JSON object on stdout`;

export interface CacheValues {
  'ledger-dir': string;
  'identity-dir': string;
  'cache-dir': string;
  mongo?: string;
  db: string;
}

export interface LocalCache {
  db: Db;
  ledger: EmbeddedLedger;
  reader: Identity;
}

/**
 * Runs `work` on the ledger's cache, brought up to date first: the cache is the given MongoDB, or a FerretDB this
 * command starts on --cache-dir (stopped afterwards); the indexer (libs/ledger-index, the ledger-indexer's own
 * code) applies every chaincode event of the local ledger the cache has not seen yet.
 */
export async function withLocalCache<T>(values: CacheValues, io: Io, command: string, work: (cache: LocalCache) => Promise<T>): Promise<T> {
  const progress = (line: string) => io.err(`[${command}] ${line}`);
  const identityDir = path.resolve(io.cwd, values['identity-dir']);
  const ledgerDir = path.resolve(io.cwd, values['ledger-dir']);
  let ferret: RunningComponent | undefined;
  let client: MongoClient | undefined;
  let ledger: EmbeddedLedger | undefined;
  try {
    const org = readOrganisations(identityDir)[0];
    if (!org) throw new CliError(`no organisations in ${displayPath(identityDir, io.cwd)}: run \`fedledger identity init\` (or \`fedledger simulate\`) first`);
    const reader = loadIdentity(identityDir, org.id, ADMIN_USER);
    ledger = openLocalLedger({ ledgerDir, identityDir });
    let url = values.mongo ?? process.env.FEDLEDGER_MONGO_URL;
    if (!url) {
      const dir = path.resolve(io.cwd, values['cache-dir']);
      mkdirSync(dir, { recursive: true });
      await ensureTools();
      const [port, debugPort] = await freePorts(2);
      const spec = ferretComponent({ port: port!, debugPort: debugPort!, dataDir: path.join(dir, 'data'), logFile: path.join(dir, 'ferretdb.log') });
      ferret = await startComponent(spec, 'attached');
      url = spec.url;
    }
    client = await MongoClient.connect(url, { serverSelectionTimeoutMS: 5_000 }).catch((err: Error) => {
      throw new CliError(`cannot reach the cache at ${url}: ${err.message}`);
    });
    const db = client.db(values.db);
    const indexer = new LedgerIndexer({ db, ledger, reader, log: (line) => progress(line), holder: `fedledger ${command}@${hostname()}:${process.pid}` });
    try {
      await indexer.init();
      const last = ledger.lastEventCheckpoint();
      const from = await indexer.checkpoint();
      if (last && (!from || positionOf(from) < positionOf(last))) {
        progress(`indexing the ledger's events from block ${from ? from.blockNumber + 1 : 0} to ${last.blockNumber} into the cache`);
        await indexer.run(undefined, last);
      }
      await indexer.release();
    } catch (err) {
      if (!(err instanceof IndexerBusyError)) throw err;
      progress(`${err.message}: reading the cache as that indexer keeps it`);
    }
    return await work({ db, ledger, reader });
  } catch (err) {
    if (err instanceof LedgerError || err instanceof LedgerHostError || err instanceof IdentityError) throw new CliError(err.message);
    throw err;
  } finally {
    await client?.close();
    await ledger?.close();
    await ferret?.stop(10_000);
  }
}
