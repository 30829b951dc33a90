/** The MSP directory of the local stack, read from the organisations libs/identity created. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readOrganisations } from '@fedledger/identity';
import type { MspDirectory } from './ledger-gateway';

/** mspId → [CA certificate PEM] for every organisation under `root` (`<root>/organizations/<domain>/msp/cacerts`). */
export function mspDirectoryOf(root: string): MspDirectory {
  const msps: MspDirectory = {};
  for (const org of readOrganisations(root)) {
    msps[org.mspId] = [readFileSync(path.join(root, 'organizations', org.domain, 'msp', 'cacerts', 'ca-cert.pem'), 'utf8')];
  }
  return msps;
}
