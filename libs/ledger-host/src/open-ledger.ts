import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '@fedledger/config';
import { IdentityError, loadIdentity, type Identity } from '@fedledger/identity';
import { FabricLedger, type LedgerGateway, type SigningIdentity } from '@fedledger/ledger';
import { LedgerHostError, openLocalLedger } from './local-ledger';

/** How to reach a Fabric network's gateway peer: what `fedledger up --ledger fabric` writes to <data>/fabric/connection.json. */
export interface FabricConnection {
  /** host:port of the peer's gateway service. */
  peerEndpoint: string;
  /** The name its TLS certificate answers to, when it is not the endpoint's host. */
  peerHostAlias?: string;
  /** PEM file of the CA of the peer's TLS certificate (relative to the connection file). */
  tlsRootCert: string;
  channel: string;
  chaincode: string;
}

export function readFabricConnection(file: string): FabricConnection {
  if (!existsSync(file)) throw new LedgerHostError(`no Fabric connection at ${file}: start the network with \`fedledger up --ledger fabric\``);
  let parsed: Partial<FabricConnection>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<FabricConnection>;
  } catch (err) {
    throw new LedgerHostError(`${file} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const field of ['peerEndpoint', 'tlsRootCert', 'channel', 'chaincode'] as const) {
    if (typeof parsed[field] !== 'string' || parsed[field] === '') throw new LedgerHostError(`${file}: ${field} is missing`);
  }
  return parsed as FabricConnection;
}

export type LedgerMode = 'embedded' | 'fabric';

export interface OpenLedgerOptions {
  mode: LedgerMode;
  /** embedded: the block file's folder. */
  ledgerDir?: string;
  identityDir?: string;
  /** embedded: names this process to other writers. */
  holder?: string;
  /** fabric: the connection file. */
  fabricConnection?: string;
  /** fabric: who reads events and the chain height. */
  reader?: SigningIdentity;
}

/** The ledger a service or the CLI is configured for, behind the one LedgerGateway interface. */
export function openLedger(o: OpenLedgerOptions): LedgerGateway {
  if (o.mode === 'embedded') return openLocalLedger({ ...(o.ledgerDir ? { ledgerDir: o.ledgerDir } : {}), ...(o.identityDir ? { identityDir: o.identityDir } : {}), ...(o.holder ? { holder: o.holder } : {}) });
  if (!o.fabricConnection) throw new LedgerHostError('the fabric ledger needs its connection file (FABRIC_CONNECTION)');
  const c = readFabricConnection(o.fabricConnection);
  return new FabricLedger({
    peerEndpoint: c.peerEndpoint,
    tlsRootCertPem: readFileSync(path.resolve(path.dirname(o.fabricConnection), c.tlsRootCert), 'utf8'),
    ...(c.peerHostAlias ? { peerHostAlias: c.peerHostAlias } : {}),
    channel: c.channel,
    chaincode: c.chaincode,
    ...(o.reader ? { eventReader: o.reader } : {}),
  });
}

/** The ledger settings every service that reaches the ledger reads (validated by its config schema). */
export interface ServiceLedgerConfig {
  LEDGER: LedgerMode;
  LEDGER_DIR: string;
  IDENTITY_DIR: string;
  FABRIC_CONNECTION: string;
}

/**
 * A service's ledger and the identity it uses on it (`<org>/<user>` from the variable `identityVariable`), or a
 * ConfigError naming the variable at fault: the service refuses to start rather than fail on its first call.
 */
export function openServiceLedger(
  service: string,
  config: ServiceLedgerConfig,
  as: { variable: string; value: string },
  holder?: string,
): { ledger: LedgerGateway; identity: Identity } {
  const identityDir = path.resolve(config.IDENTITY_DIR);
  const [org, user] = as.value.split('/') as [string, string];
  let identity: Identity;
  try {
    identity = loadIdentity(identityDir, org, user);
  } catch (err) {
    if (err instanceof IdentityError) throw new ConfigError(service, [{ variable: as.variable, reason: `${err.message} (in ${identityDir})` }]);
    throw err;
  }
  try {
    const ledger = openLedger({
      mode: config.LEDGER,
      ledgerDir: path.resolve(config.LEDGER_DIR),
      identityDir,
      fabricConnection: path.resolve(config.FABRIC_CONNECTION),
      reader: identity,
      ...(holder ? { holder } : {}),
    });
    return { ledger, identity };
  } catch (err) {
    if (err instanceof LedgerHostError) throw new ConfigError(service, [{ variable: config.LEDGER === 'fabric' ? 'FABRIC_CONNECTION' : 'IDENTITY_DIR', reason: err.message }]);
    throw err;
  }
}
