// tsyringe (used by @peculiar/x509) needs the Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
import { createPrivateKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto);

/**
 * The X.509 extension in which Fabric CA puts an enrolment's attributes (fabric-ca lib/attrmgr `AttrOID`), read
 * by fabric-shim's ClientIdentity (`FABRIC_CERT_ATTR_OID`) and by the Go cid library on a real peer. Its value is
 * the raw UTF-8 JSON `{"attrs":{…}}`, not wrapped in any ASN.1 string type; the extension is not critical.
 */
export const FABRIC_ATTRS_OID = '1.2.3.4.5.6.7.8.1';

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** Order of the P-256 group; Fabric's MSP normalises certificate signatures to s <= n/2 ("low-S"). */
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const DAY_MS = 24 * 60 * 60 * 1000;
/** Backdated like Fabric CA does, so a peer whose clock is a little behind still accepts a fresh certificate. */
const BACKDATE_MS = 5 * 60 * 1000;

export interface KeyPair {
  keys: CryptoKeyPair;
  /** PKCS#8 PEM, as cryptogen and Fabric CA write `priv_sk`. */
  privateKeyPem: string;
}

export interface CertifiedKey extends KeyPair {
  cert: x509.X509Certificate;
  certPem: string;
}

/** The subject of a certificate: CN = the identity's name, OU = its Fabric node OU, O = the organisation. */
export interface Subject {
  commonName: string;
  organisation: string;
  /** client, admin, peer or orderer (the NodeOUs of the MSP's config.yaml); none for the CA itself. */
  nodeOu?: string;
}

export async function generateKeyPair(): Promise<KeyPair> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const privateKeyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { keys, privateKeyPem };
}

/** A private key read back from its PKCS#8 PEM, for signing further certificates. */
export async function importSigningKey(privateKeyPem: string): Promise<CryptoKey> {
  const der = createPrivateKey(privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  return (await webcrypto.subtle.importKey('pkcs8', der, EC_P256, false, ['sign'])) as CryptoKey;
}

function distinguishedName(subject: Subject): x509.JsonName {
  return [{ O: [subject.organisation] }, ...(subject.nodeOu === undefined ? [] : [{ OU: [subject.nodeOu] }]), { CN: [subject.commonName] }];
}

/** A positive 128-bit serial number, hex. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

/** Reads the (r, s) DER of an ECDSA signature and tells whether s is in the lower half of the group order. */
function isLowS(signatureDer: ArrayBuffer): boolean {
  const der = Buffer.from(signatureDer);
  // SEQUENCE { INTEGER r, INTEGER s }, short lengths only for P-256.
  let at = 2;
  const rLength = der[at + 1]!;
  at += 2 + rLength;
  const sLength = der[at + 1]!;
  const s = BigInt(`0x${der.subarray(at + 2, at + 2 + sLength).toString('hex')}`);
  return s <= P256_N / 2n;
}

/**
 * Signs until the signature is low-S (one try in two): Fabric's MSP rewrites a high-S certificate signature before
 * comparing identities, so a low-S one keeps the bytes the peer sees equal to the bytes on disk.
 */
async function lowS(create: () => Promise<x509.X509Certificate>): Promise<x509.X509Certificate> {
  for (let attempt = 0; attempt < 64; attempt++) {
    const cert = await create();
    if (isLowS(cert.signature)) return cert;
  }
  throw new Error('could not produce a low-S certificate signature in 64 attempts');
}

/** A self-signed organisation CA: basicConstraints CA:true, keyUsage keyCertSign + cRLSign (+ digitalSignature), SKI. */
export async function createCa(subject: Subject, validityDays: number, now = new Date()): Promise<CertifiedKey> {
  const pair = await generateKeyPair();
  const cert = await lowS(async () =>
    x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialNumber(),
      name: distinguishedName(subject),
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + validityDays * DAY_MS),
      signingAlgorithm: EC_P256,
      keys: pair.keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(pair.keys.publicKey),
      ],
    }),
  );
  return { ...pair, cert, certPem: `${cert.toString('pem')}\n` };
}

export interface IssueOptions {
  subject: Subject;
  ca: { cert: x509.X509Certificate; signingKey: CryptoKey };
  validityDays: number;
  /** Fabric CA attributes, written as the {@link FABRIC_ATTRS_OID} extension (none for a node or TLS certificate). */
  attrs?: Record<string, string>;
  /** Names a TLS server certificate answers to (subjectAltName). */
  altNames?: { dns?: string[]; ip?: string[] };
  /** A TLS certificate: extendedKeyUsage serverAuth + clientAuth, keyUsage with keyEncipherment/keyAgreement. */
  tls?: boolean;
  now?: Date;
}

/** Keys in code-point order, as Go's json.Marshal writes a map (so the bytes match Fabric CA's). */
function sortedKeys(attrs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(attrs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** An end-entity certificate signed by the CA: CA:false, keyUsage digitalSignature, SKI, AKI = the CA's SKI, attributes. */
export async function issueCertificate(options: IssueOptions): Promise<CertifiedKey> {
  const now = options.now ?? new Date();
  const pair = await generateKeyPair();
  const caNotAfter = options.ca.cert.notAfter.getTime();
  const usage = options.tls ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyAgreement : x509.KeyUsageFlags.digitalSignature;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usage, true),
    await x509.SubjectKeyIdentifierExtension.create(pair.keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(options.ca.cert.publicKey),
  ];
  if (options.attrs) extensions.push(new x509.Extension(FABRIC_ATTRS_OID, false, Buffer.from(JSON.stringify({ attrs: sortedKeys(options.attrs) }), 'utf8')));
  if (options.tls) extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]));
  const names = [...(options.altNames?.dns ?? []).map((value) => ({ type: 'dns' as const, value })), ...(options.altNames?.ip ?? []).map((value) => ({ type: 'ip' as const, value }))];
  if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await lowS(async () =>
    x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: distinguishedName(options.subject),
      issuer: options.ca.cert.subject,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(Math.min(now.getTime() + options.validityDays * DAY_MS, caNotAfter)),
      signingAlgorithm: EC_P256,
      publicKey: pair.keys.publicKey,
      signingKey: options.ca.signingKey,
      extensions,
    }),
  );
  return { ...pair, cert, certPem: `${cert.toString('pem')}\n` };
}

export function parseCertificate(pem: string): x509.X509Certificate {
  return new x509.X509Certificate(pem);
}

/** The Fabric CA attributes of a certificate ({} without the extension), read as fabric-shim reads them. */
export function fabricAttributes(cert: x509.X509Certificate): Record<string, string> {
  const extension = cert.getExtension(FABRIC_ATTRS_OID);
  if (extension === null) return {};
  const parsed = JSON.parse(Buffer.from(extension.value).toString('utf8')) as { attrs?: Record<string, string> };
  return parsed.attrs ?? {};
}

/** The first value of a subject attribute (CN, OU, O), or undefined. */
export function subjectField(cert: x509.X509Certificate, field: 'CN' | 'OU' | 'O'): string | undefined {
  return cert.subjectName.getField(field)[0];
}
