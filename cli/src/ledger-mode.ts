import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LedgerMode } from '@fedledger/ledger-host';
import { UsageError } from './errors';

/** Where `fedledger up --ledger fabric` writes how to reach its Fabric network (removed by `down`). */
export function fabricConnectionFile(dataDir: string): string {
  return path.join(dataDir, 'fabric', 'connection.json');
}

/**
 * The ledger a command talks to: `--ledger` when given; otherwise Fabric while a network started by
 * `fedledger up --ledger fabric` runs from this data directory (its connection file exists), else the embedded one.
 */
export function ledgerModeOf(flag: string | undefined, dataDir: string, command: string): LedgerMode {
  if (flag !== undefined) {
    if (flag !== 'embedded' && flag !== 'fabric') throw new UsageError(`--ledger must be embedded or fabric, got '${flag}'`, command);
    return flag;
  }
  return existsSync(fabricConnectionFile(dataDir)) ? 'fabric' : 'embedded';
}
