import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { inboxPrefix, natsPermissions, principalToken, type NatsPermissions, type Principal } from '@fedledger/contracts';
import { DEFAULT_ORGANISATIONS, ensureNode, initOrganisations } from '@fedledger/identity';
import { LocalStackError } from './errors';

/** The seed and CA a principal connects with, when `ensureNatsSecurity` made them in `dir`; undefined otherwise. */
export function natsCredentialsIn(dir: string, p: Principal): { nkeySeedFile: string; tlsCaFile: string; inboxPrefix: string } | undefined {
  const nkeySeedFile = seedFileIn(dir, p);
  const tlsCaFile = caFileIn(dir);
  return existsSync(nkeySeedFile) && existsSync(tlsCaFile) ? { nkeySeedFile, tlsCaFile, inboxPrefix: inboxPrefix(p) } : undefined;
}

/** The organisation whose CA issues the local NATS server's TLS certificate (the platform's host). */
export const NATS_TLS_ORG = 'ub';

/** One user of the server: an nkey and its permissions. */
export interface NatsUser {
  /** The principal, for the config's comments and error messages. */
  principal: string;
  /** Public nkey (U…). */
  nkey: string;
  permissions: NatsPermissions;
}

/** What nats-server needs to require TLS and authenticate every connection. */
export interface NatsSecurity {
  tls: { certFile: string; keyFile: string; caFile: string };
  users: NatsUser[];
}

/** A principal's connection settings, as the environment of a service or a centre-agent. */
export interface NatsClientCredentials {
  NATS_NKEY_SEED_FILE: string;
  NATS_TLS_CA_FILE: string;
}

export interface SecuredNats {
  security: NatsSecurity;
  /** The environment a principal's process connects with. */
  credentials(p: Principal): NatsClientCredentials;
  /** Same, for a connection made in this process (`JetStreamConnection.connect`). */
  connectOptions(p: Principal): { nkeySeedFile: string; tlsCaFile: string; inboxPrefix: string };
}

/**
 * Credentials for a local NATS server, generated, never hand-written: an nkey per principal (its seed in
 * `<dir>/<principal>.nk`, mode 0600; kept across runs; the CA to verify the server with in `<dir>/ca.crt`) with the least-privilege permissions of
 * `natsPermissions`, and a TLS server certificate for 127.0.0.1/localhost issued by the platform organisation's
 * CA in `identityDir` (the organisation is created if absent). Principals not listed get no user: the server refuses them.
 */
export async function ensureNatsSecurity(o: { dir: string; identityDir: string; principals: Principal[] }): Promise<SecuredNats> {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const node = await initOrganisations(o.identityDir, DEFAULT_ORGANISATIONS.filter((org) => org.id === NATS_TLS_ORG))
    .then(() => ensureNode(o.identityDir, { org: NATS_TLS_ORG, name: 'nats', kind: 'server' }))
    .catch((err: Error) => {
    throw new LocalStackError(`cannot issue the NATS server's TLS certificate from organisation '${NATS_TLS_ORG}' in ${o.identityDir}: ${err.message}`);
  });
  const seedFile = (p: Principal) => seedFileIn(o.dir, p);
  const users: NatsUser[] = [];
  const seen = new Set<string>();
  for (const p of o.principals) {
    const token = principalToken(p);
    if (seen.has(token)) continue;
    seen.add(token);
    users.push({ principal: token, nkey: publicKeyOf(ensureSeed(seedFile(p)).seed), permissions: natsPermissions(p) });
  }
  // The CA next to the seeds: a client needs the two files of this folder and nothing else.
  const caFile = caFileIn(o.dir);
  writeFileSync(caFile, readFileSync(path.join(node.tlsDir, 'ca.crt')));
  const tls = { certFile: path.join(node.tlsDir, 'server.crt'), keyFile: path.join(node.tlsDir, 'server.key'), caFile };
  const known = (p: Principal) => {
    if (!seen.has(principalToken(p))) throw new LocalStackError(`no NATS credentials for ${principalToken(p)}: the server was configured for ${[...seen].join(', ')}`);
    return seedFile(p);
  };
  return {
    security: { tls, users },
    credentials: (p) => ({ NATS_NKEY_SEED_FILE: known(p), NATS_TLS_CA_FILE: tls.caFile }),
    connectOptions: (p) => ({ nkeySeedFile: known(p), tlsCaFile: tls.caFile, inboxPrefix: inboxPrefix(p) }),
  };
}

/** Where a principal's seed and the server's CA are kept in a credentials folder (one layout for writer and readers). */
const seedFileIn = (dir: string, p: Principal) => path.join(dir, `${principalToken(p)}.nk`);
const caFileIn = (dir: string) => path.join(dir, 'ca.crt');

/**
 * The nkey user seed in `file`, created (atomically, 0600) when absent or when `rotate` asks for a new one; a file
 * that is not a seed is refused, naming it.
 */
export function ensureSeed(file: string, rotate = false): { seed: string; status: 'created' | 'kept' | 'rotated' } {
  const existed = existsSync(file);
  if (existed && !rotate) {
    const seed = readFileSync(file, 'utf8').trim();
    try {
      fromSeed(new TextEncoder().encode(seed));
    } catch (err) {
      throw new LocalStackError(`${file} is not an nkey user seed (${(err as Error).message}); delete it to have a new one generated`);
    }
    return { seed, status: 'kept' };
  }
  const seed = new TextDecoder().decode(createUser().getSeed());
  const staging = `${file}.${process.pid}.tmp`;
  writeFileSync(staging, `${seed}\n`, { mode: 0o600 });
  chmodSync(staging, 0o600);
  renameSync(staging, file);
  return { seed, status: existed ? 'rotated' : 'created' };
}

/** The public key (U…) of an nkey user seed. */
export function publicKeyOf(seed: string): string {
  return fromSeed(new TextEncoder().encode(seed)).getPublicKey();
}

/** nats-server's `authorization` block for these users, one commented line each (`include`-able as a file). */
export function natsAuthorization(users: NatsUser[]): string[] {
  const lines = ['authorization {', '  users: ['];
  for (const u of users) lines.push(`    # ${u.principal}`, `    ${JSON.stringify({ nkey: u.nkey, permissions: u.permissions })}`);
  lines.push('  ]', '}');
  return lines;
}
