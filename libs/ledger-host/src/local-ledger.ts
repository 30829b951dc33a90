/**
 * The one project allowed to load the chaincode in-process (scope:ledger-host): the CLI and the services
 * that run the single-machine ledger open it here rather than importing the chaincode themselves.
 */
import path from 'node:path';
import './quiet-chaincode'; // before the chaincode
import { contracts } from '@fedledger/ai-passport-chaincode';
import { EmbeddedLedger, mspDirectoryOf } from '@fedledger/ledger';

export const DEFAULT_LEDGER_DIR = path.join('.data', 'ledger');
export const DEFAULT_IDENTITY_DIR = path.join('.data', 'identities');

export interface LocalLedgerOptions {
  /** The embedded ledger's folder (its block file); created if missing. Default `.data/ledger`. */
  ledgerDir?: string;
  /** Where `fedledger identity init` put the organisations; their CAs are the MSPs allowed to transact. Default `.data/identities`. */
  identityDir?: string;
  /** Names this process to others refused while it writes, e.g. 'passport-registry'. */
  holder?: string;
}

/** A local setup problem the caller can act on (no identities yet). */
export class LedgerHostError extends Error {
  override readonly name = 'LedgerHostError';
}

/** The embedded ledger over the ai-passport contracts and the MSPs of every organisation in `identityDir`. */
export function openLocalLedger({ ledgerDir = DEFAULT_LEDGER_DIR, identityDir = DEFAULT_IDENTITY_DIR, holder }: LocalLedgerOptions = {}): EmbeddedLedger {
  const msps = mspDirectoryOf(identityDir);
  if (Object.keys(msps).length === 0) {
    throw new LedgerHostError(`no organisations in ${identityDir}: run \`fedledger identity init\` first`);
  }
  return new EmbeddedLedger({ dir: ledgerDir, contracts, msps, ...(holder ? { holder } : {}) });
}
