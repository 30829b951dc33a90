import { randomBytes, type webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCa, fabricAttributes, importSigningKey, issueCertificate, parseCertificate, subjectField, type CertifiedKey } from './certificates';

/**
 * The roles the passport contracts know; each user carries one as the Fabric CA attribute `role`. The same list as
 * ROLES in chaincode/ai-passport/src/model.ts, which the deployed chaincode keeps to itself (it imports no workspace lib).
 */
export const ROLES = ['developer', 'aggregator', 'auditor', 'centre'] as const;
export type Role = (typeof ROLES)[number];

/** An organisation of the network: one MSP, one CA. */
export interface Organisation {
  /** Short name used on the command line (`--org`), also the `hf.Affiliation` of its users. */
  id: string;
  mspId: string;
  /** Its folder name and the O of its certificates, as cryptogen uses the org's domain. */
  domain: string;
}

/**
 * The organisations of the local stack: the coordinating university, the five hospital centres of the synthetic
 * data (libs/training synth) and the organisation that runs the ordering service.
 */
export const DEFAULT_ORGANISATIONS: readonly Organisation[] = [
  { id: 'ub', mspId: 'UBMSP', domain: 'ub.fedledger.local' },
  { id: 'optimam-stge', mspId: 'OptimamStgeMSP', domain: 'optimam-stge.fedledger.local' },
  { id: 'optimam-jarv', mspId: 'OptimamJarvMSP', domain: 'optimam-jarv.fedledger.local' },
  { id: 'inbreast', mspId: 'InbreastMSP', domain: 'inbreast.fedledger.local' },
  { id: 'bcdr', mspId: 'BcdrMSP', domain: 'bcdr.fedledger.local' },
  { id: 'cmmd', mspId: 'CmmdMSP', domain: 'cmmd.fedledger.local' },
  { id: 'orderer', mspId: 'OrdererMSP', domain: 'orderer.fedledger.local' },
];

/** The admin `init` creates in every organisation (cryptogen's name). */
export const ADMIN_USER = 'Admin';
const CA_VALIDITY_DAYS = 10 * 365;
const USER_VALIDITY_DAYS = 5 * 365;
const CA_CERT = 'ca-cert.pem';
const KEY_FILE = 'priv_sk';
const ORG_FILE = 'org.json';
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A refusal of the caller's input (unknown organisation, existing user, bad role or name…). */
export class IdentityError extends Error {
  override readonly name = 'IdentityError';
}

export type IdentityType = 'client' | 'admin';

export interface Identity {
  org: string;
  mspId: string;
  user: string;
  type: IdentityType;
  /** The `role` attribute; null for an admin, which has none. */
  role: Role | null;
  certPem: string;
  privateKeyPem: string;
  /** The identity's own MSP folder (signcerts, keystore, cacerts, config.yaml). */
  mspDir: string;
}

export interface OrganisationSummary extends Organisation {
  /** The organisation's folder under `<root>/organizations`. */
  dir: string;
  /** created now, or kept as an earlier `init` left it. */
  status: 'created' | 'kept';
}

export interface UserSummary {
  user: string;
  type: IdentityType;
  role: Role | null;
  notAfter: string;
  mspDir: string;
}

const organisationsDir = (root: string) => path.join(root, 'organizations');
const orgDir = (root: string, org: Organisation) => path.join(organisationsDir(root), org.domain);
const userDir = (org: Organisation, orgFolder: string, user: string) => path.join(orgFolder, 'users', `${user}@${org.domain}`, 'msp');

/** The MSP's config.yaml: NodeOUs on, each OU identifier pointing at the org CA. */
function nodeOusConfig(): string {
  const ou = (key: string, value: string) => `  ${key}:\n    Certificate: cacerts/${CA_CERT}\n    OrganizationalUnitIdentifier: ${value}\n`;
  return `NodeOUs:\n  Enable: true\n${ou('ClientOUIdentifier', 'client')}${ou('PeerOUIdentifier', 'peer')}${ou('AdminOUIdentifier', 'admin')}${ou('OrdererOUIdentifier', 'orderer')}`;
}

function writeKey(file: string, pem: string): void {
  writeFileSync(file, pem, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/**
 * cacerts/ca-cert.pem, tlscacerts/ca-cert.pem (the org CA also issues its TLS certificates) and config.yaml: what
 * both the org MSP and every user or node MSP hold.
 */
function writeVerifyingMsp(mspDir: string, caCertPem: string): void {
  mkdirSync(path.join(mspDir, 'cacerts'), { recursive: true });
  writeFileSync(path.join(mspDir, 'cacerts', CA_CERT), caCertPem);
  mkdirSync(path.join(mspDir, 'tlscacerts'), { recursive: true });
  writeFileSync(path.join(mspDir, 'tlscacerts', CA_CERT), caCertPem);
  writeFileSync(path.join(mspDir, 'config.yaml'), nodeOusConfig());
}

/** A fresh folder next to `target`, renamed onto it when complete, so a crash never leaves half an MSP. */
function stagingDir(target: string): string {
  const dir = path.join(path.dirname(target), `.staging-${path.basename(target)}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function publish(staging: string, target: string): boolean {
  mkdirSync(path.dirname(target), { recursive: true });
  try {
    renameSync(staging, target);
    return true;
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    if (existsSync(target)) return false;
    throw err;
  }
}

function validateOrganisations(orgs: readonly Organisation[]): void {
  const seen = new Set<string>();
  for (const org of orgs) {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/.test(org.id)) throw new IdentityError(`organisation id must be letters, digits and '-', got '${org.id}'`);
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/.test(org.mspId)) throw new IdentityError(`mspId must be letters, digits, '.' and '-', got '${org.mspId}'`);
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(org.domain)) throw new IdentityError(`domain must be a lower-case DNS name, got '${org.domain}'`);
    for (const key of [org.id.toLowerCase(), org.mspId.toLowerCase(), org.domain]) {
      if (seen.has(key)) throw new IdentityError(`organisation '${org.id}' repeats the id, mspId or domain '${key}' of another`);
      seen.add(key);
    }
  }
}

/** The organisations an earlier `init` wrote under root, in folder order. */
export function readOrganisations(root: string): Organisation[] {
  const dir = organisationsDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && existsSync(path.join(dir, entry.name, ORG_FILE)))
    .map((entry) => JSON.parse(readFileSync(path.join(dir, entry.name, ORG_FILE), 'utf8')) as Organisation)
    .sort((a, b) => a.domain.localeCompare(b.domain));
}

/** The organisation named by its id, mspId or domain (case-insensitive), or an error listing those known. */
function findOrganisation(root: string, name: string): Organisation {
  const orgs = readOrganisations(root);
  const wanted = name.toLowerCase();
  const org = orgs.find((o) => o.id.toLowerCase() === wanted || o.mspId.toLowerCase() === wanted || o.domain === wanted);
  if (org !== undefined) return org;
  const known = orgs.length === 0 ? `there are none in ${root}: run identity init first` : `known: ${orgs.map((o) => o.id).join(', ')}`;
  throw new IdentityError(`unknown organisation '${name}' (${known})`);
}

async function loadCa(folder: string): Promise<{ cert: ReturnType<typeof parseCertificate>; certPem: string; signingKey: webcrypto.CryptoKey }> {
  const certPem = readFileSync(path.join(folder, 'ca', CA_CERT), 'utf8');
  const signingKey = await importSigningKey(readFileSync(path.join(folder, 'ca', KEY_FILE), 'utf8'));
  return { cert: parseCertificate(certPem), certPem, signingKey };
}

/** Issues a user (or admin) certificate and writes its MSP folder; false when the user already exists. */
async function writeUser(org: Organisation, folder: string, user: string, type: IdentityType, role: Role | null): Promise<boolean> {
  const ca = await loadCa(folder);
  const attrs: Record<string, string> = { 'hf.Affiliation': org.id, 'hf.EnrollmentID': user, 'hf.Type': type };
  if (role !== null) attrs.role = role;
  const issued: CertifiedKey = await issueCertificate({
    subject: { commonName: user, organisation: org.domain, nodeOu: type },
    ca,
    validityDays: USER_VALIDITY_DAYS,
    attrs,
  });
  const target = userDir(org, folder, user);
  const staging = stagingDir(target);
  mkdirSync(path.join(staging, 'signcerts'));
  mkdirSync(path.join(staging, 'keystore'));
  writeFileSync(path.join(staging, 'signcerts', 'cert.pem'), issued.certPem);
  writeKey(path.join(staging, 'keystore', KEY_FILE), issued.privateKeyPem);
  writeVerifyingMsp(staging, ca.certPem);
  return publish(staging, target);
}

async function createOrganisation(root: string, org: Organisation): Promise<boolean> {
  const target = orgDir(root, org);
  const staging = stagingDir(target);
  const ca = await createCa({ commonName: `ca.${org.domain}`, organisation: org.domain }, CA_VALIDITY_DAYS);
  mkdirSync(path.join(staging, 'ca'));
  writeFileSync(path.join(staging, 'ca', CA_CERT), ca.certPem);
  writeKey(path.join(staging, 'ca', KEY_FILE), ca.privateKeyPem);
  writeVerifyingMsp(path.join(staging, 'msp'), ca.certPem);
  mkdirSync(path.join(staging, 'users'));
  writeFileSync(path.join(staging, ORG_FILE), `${JSON.stringify({ id: org.id, mspId: org.mspId, domain: org.domain }, null, 2)}\n`);
  return publish(staging, target);
}

/**
 * Creates each organisation's CA, MSP folder and admin under `<root>/organizations/<domain>`. Idempotent: an
 * organisation already there is kept as it is (its CA is not regenerated), and gets its admin if it lacks one.
 */
export async function initOrganisations(root: string, orgs: readonly Organisation[] = DEFAULT_ORGANISATIONS): Promise<OrganisationSummary[]> {
  validateOrganisations(orgs);
  const summaries: OrganisationSummary[] = [];
  for (const org of orgs) {
    const folder = orgDir(root, org);
    let status: OrganisationSummary['status'] = 'kept';
    if (existsSync(folder)) {
      const existing = existsSync(path.join(folder, ORG_FILE)) ? (JSON.parse(readFileSync(path.join(folder, ORG_FILE), 'utf8')) as Organisation) : undefined;
      if (existing === undefined || existing.id !== org.id || existing.mspId !== org.mspId) {
        throw new IdentityError(`${folder} already holds ${existing === undefined ? 'something that is not an organisation' : `organisation '${existing.id}' (${existing.mspId})`}, not '${org.id}' (${org.mspId})`);
      }
    } else if (await createOrganisation(root, org)) {
      status = 'created';
    }
    if (!existsSync(userDir(org, folder, ADMIN_USER))) await writeUser(org, folder, ADMIN_USER, 'admin', null);
    summaries.push({ ...org, dir: folder, status });
  }
  return summaries;
}

function existingUsers(org: Organisation, folder: string): string[] {
  const users = path.join(folder, 'users');
  if (!existsSync(users)) return [];
  const suffix = `@${org.domain}`;
  return readdirSync(users)
    .filter((name) => name.endsWith(suffix) && existsSync(path.join(users, name, 'msp', 'signcerts', 'cert.pem')))
    .map((name) => name.slice(0, -suffix.length))
    .sort((a, b) => a.localeCompare(b));
}

export interface NewIdentity {
  org: string;
  user: string;
  role: string;
}

/** Issues a client certificate with the `role` attribute to a new user of an organisation, and returns it loaded. */
export async function addIdentity(root: string, request: NewIdentity): Promise<Identity> {
  if (!USER_NAME.test(request.user)) {
    throw new IdentityError(`user name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, got '${request.user}'`);
  }
  if (!(ROLES as readonly string[]).includes(request.role)) throw new IdentityError(`role must be one of ${ROLES.join(', ')}, got '${request.role}'`);
  const org = findOrganisation(root, request.org);
  const folder = orgDir(root, org);
  const clash = existingUsers(org, folder).find((u) => u.toLowerCase() === request.user.toLowerCase());
  if (clash !== undefined) throw new IdentityError(`user '${clash}' already exists in organisation '${org.id}'`);
  if (!(await writeUser(org, folder, request.user, 'client', request.role as Role))) {
    throw new IdentityError(`user '${request.user}' already exists in organisation '${org.id}'`);
  }
  return loadIdentity(root, org.id, request.user);
}

function readRole(attrs: Record<string, string>): Role | null {
  const role = attrs.role;
  return role !== undefined && (ROLES as readonly string[]).includes(role) ? (role as Role) : null;
}

/** What an identity's certificate says of it: admin or client (its OU), its role, its expiry. */
function describeCertificate(certPem: string): { type: IdentityType; role: Role | null; notAfter: string } {
  const cert = parseCertificate(certPem);
  return { type: subjectField(cert, 'OU') === 'admin' ? 'admin' : 'client', role: readRole(fabricAttributes(cert)), notAfter: cert.notAfter.toISOString() };
}

/** An identity's certificate, key and role, as a gateway client or the embedded ledger needs them. */
export function loadIdentity(root: string, orgName: string, user: string): Identity {
  const org = findOrganisation(root, orgName);
  const folder = orgDir(root, org);
  const known = existingUsers(org, folder);
  const name = known.find((u) => u === user) ?? known.find((u) => u.toLowerCase() === user.toLowerCase());
  if (name === undefined) throw new IdentityError(`unknown user '${user}' in organisation '${org.id}' (known: ${known.join(', ') || 'none'})`);
  const mspDir = userDir(org, folder, name);
  const certPem = readFileSync(path.join(mspDir, 'signcerts', 'cert.pem'), 'utf8');
  const { type, role } = describeCertificate(certPem);
  return {
    org: org.id,
    mspId: org.mspId,
    user: name,
    type,
    role,
    certPem,
    privateKeyPem: readFileSync(path.join(mspDir, 'keystore', KEY_FILE), 'utf8'),
    mspDir,
  };
}

/** Every organisation under root with its users. */
export function listIdentities(root: string): Array<Organisation & { dir: string; users: UserSummary[] }> {
  return readOrganisations(root).map((org) => {
    const folder = orgDir(root, org);
    const users = existingUsers(org, folder).map((user): UserSummary => {
      const mspDir = userDir(org, folder, user);
      return { user, ...describeCertificate(readFileSync(path.join(mspDir, 'signcerts', 'cert.pem'), 'utf8')), mspDir };
    });
    return { ...org, dir: folder, users };
  });
}

/** The user when it exists with this role, else issued now (`simulate` sets up its identities this way). */
export async function ensureIdentity(root: string, request: NewIdentity): Promise<Identity> {
  const known = listIdentities(root)
    .find((o) => o.id === request.org)
    ?.users.find((u) => u.user === request.user);
  if (known === undefined) return addIdentity(root, request);
  if (known.role !== request.role) {
    throw new IdentityError(`user '${request.user}' of organisation '${request.org}' exists with ${known.role ? `role ${known.role}` : 'no role'}, not ${request.role}`);
  }
  return loadIdentity(root, request.org, request.user);
}

/** A Fabric node of an organisation: its signing identity (OU peer or orderer) and its TLS server certificate. */
export interface NodeIdentity {
  org: string;
  mspId: string;
  /** e.g. peer0.ub.fedledger.local */
  name: string;
  /** `server`: another TLS server of the organisation (the NATS server), outside Fabric. */
  kind: 'peer' | 'orderer' | 'server';
  /** The node's local MSP folder (signcerts, keystore, cacerts, tlscacerts, config.yaml). */
  mspDir: string;
  /** tls/server.crt, tls/server.key, tls/ca.crt. */
  tlsDir: string;
}

/**
 * Issues a peer, orderer or other server of an organisation (as cryptogen lays them out, under `<org>/peers|orderers|servers/<name>`):
 * an MSP whose certificate carries OU peer|orderer, and a TLS server certificate from the same CA answering to
 * `hosts` (DNS names and IP addresses, 127.0.0.1 and localhost always). Idempotent: an existing node is kept.
 */
export async function ensureNode(root: string, request: { org: string; name: string; kind: NodeIdentity['kind']; hosts?: string[] }): Promise<NodeIdentity> {
  const org = findOrganisation(root, request.org);
  const folder = orgDir(root, org);
  if (!USER_NAME.test(request.name)) throw new IdentityError(`node name must be 1-64 letters, digits, '.', '_' or '-', got '${request.name}'`);
  const name = `${request.name}.${org.domain}`;
  const target = path.join(folder, `${request.kind}s`, name);
  const node = { org: org.id, mspId: org.mspId, name, kind: request.kind, mspDir: path.join(target, 'msp'), tlsDir: path.join(target, 'tls') };
  const ca = await loadCa(folder);
  // Organisations made before their CA also signed TLS certificates lack msp/tlscacerts, which a channel needs.
  const orgTlsCa = path.join(folder, 'msp', 'tlscacerts', CA_CERT);
  if (!existsSync(orgTlsCa)) {
    mkdirSync(path.dirname(orgTlsCa), { recursive: true });
    writeFileSync(orgTlsCa, ca.certPem);
  }
  if (existsSync(target)) return node;
  const hosts = ['localhost', '127.0.0.1', name, ...(request.hosts ?? [])];
  const signing = await issueCertificate({ subject: { commonName: name, organisation: org.domain, nodeOu: request.kind }, ca, validityDays: USER_VALIDITY_DAYS });
  const tls = await issueCertificate({
    subject: { commonName: name, organisation: org.domain },
    ca,
    validityDays: USER_VALIDITY_DAYS,
    tls: true,
    altNames: { dns: hosts.filter((h) => !/^[\d.]+$|:/.test(h)), ip: hosts.filter((h) => /^[\d.]+$|:/.test(h)) },
  });
  const staging = stagingDir(target);
  mkdirSync(path.join(staging, 'msp', 'signcerts'), { recursive: true });
  mkdirSync(path.join(staging, 'msp', 'keystore'));
  writeFileSync(path.join(staging, 'msp', 'signcerts', 'cert.pem'), signing.certPem);
  writeKey(path.join(staging, 'msp', 'keystore', KEY_FILE), signing.privateKeyPem);
  writeVerifyingMsp(path.join(staging, 'msp'), ca.certPem);
  mkdirSync(path.join(staging, 'tls'));
  writeFileSync(path.join(staging, 'tls', 'server.crt'), tls.certPem);
  writeKey(path.join(staging, 'tls', 'server.key'), tls.privateKeyPem);
  writeFileSync(path.join(staging, 'tls', 'ca.crt'), ca.certPem);
  publish(staging, target);
  return node;
}
