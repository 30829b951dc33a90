import path from 'node:path';
import { inboxPrefix, OPERATOR } from '@fedledger/contracts';
import { JetStreamConnection } from '@fedledger/messaging';
import { natsCredentialsIn, repoRoot } from '@fedledger/local-stack';

/** Where `fedledger up` keeps the NATS credentials of a stack whose data directory is `dataDir`. */
export function natsAuthDirOf(dataDir: string): string {
  return path.join(dataDir, 'nats-auth');
}

/**
 * Connects as the operator: with NATS_NKEY_SEED_FILE / NATS_TLS_CA_FILE when set, else with the credentials
 * `fedledger up` generated for the local stack (<repo>/.data/nats-auth), else without any (an open server).
 */
export function connectAsOperator(servers: string, name: string, env: NodeJS.ProcessEnv = process.env): Promise<JetStreamConnection> {
  const fromEnv = env.NATS_NKEY_SEED_FILE
    ? { nkeySeedFile: env.NATS_NKEY_SEED_FILE, ...(env.NATS_TLS_CA_FILE ? { tlsCaFile: env.NATS_TLS_CA_FILE } : {}), inboxPrefix: inboxPrefix(OPERATOR) }
    : undefined;
  const credentials = fromEnv ?? natsCredentialsIn(natsAuthDirOf(path.join(repoRoot(), '.data')), OPERATOR);
  return JetStreamConnection.connect({ servers, name, ...credentials });
}
