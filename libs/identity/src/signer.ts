import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fabricAttributes, parseCertificate } from './certificates';
import { readOrganisations, ROLES, type IdentityType, type Role } from './msp';

/** Who signed something, as the certificate and the organisation that issued it say. */
export interface Signer {
  org: string;
  mspId: string;
  /** The certificate's CN: the user (`Admin` for an organisation's admin). */
  user: string;
  type: IdentityType;
  /** The `role` attribute (null for an admin, which has none). */
  role: Role | null;
  /** The certificate's subject, one line. */
  subject: string;
  cert: X509Certificate;
}

/**
 * Why a signer's certificate does not hold. `clause` continues a sentence that names what was signed:
 * `${what}${clause}` reads "update from centre x is signed by …" or "request POST /x: its signer certificate is expired …".
 */
export class SignerError extends Error {
  override readonly name = 'SignerError';
  constructor(readonly clause: string) {
    super(clause.replace(/^:?\s*/, ''));
  }
}

/**
 * Checks a signer's certificate against the organisations of `identityDir`: issued by the CA of `org` (or, without
 * `org`, by the CA of any of them), and valid at `now`. Returns who it is; throws SignerError with the reason.
 */
export function verifySigner(identityDir: string, certPem: string, options: { org?: string; now?: Date } = {}): Signer {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new SignerError(': its signer certificate is not a valid X.509 certificate');
  }
  const orgs = readOrganisations(identityDir);
  const candidates = options.org === undefined ? orgs : orgs.filter((o) => o.id === options.org);
  if (options.org !== undefined && candidates.length === 0) throw new SignerError(`: no organisation ${options.org} is known here to check its signer against`);
  const issuer = candidates.find((o) => {
    const ca = new X509Certificate(readFileSync(path.join(identityDir, 'organizations', o.domain, 'msp', 'cacerts', 'ca-cert.pem'), 'utf8'));
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  });
  const subject = cert.subject.replace(/\n/g, ', ');
  if (!issuer) {
    const expected = options.org === undefined ? 'an organisation known here' : `organisation ${candidates[0]!.id} (${candidates[0]!.mspId})`;
    throw new SignerError(` is signed by ${subject}, not by an identity of ${expected}`);
  }
  const now = options.now ?? new Date();
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) throw new SignerError(': its signer certificate is expired or not yet valid');
  const parsed = parseCertificate(certPem);
  const role = fabricAttributes(parsed).role;
  const ou = parsed.subjectName.getField('OU');
  return {
    org: issuer.id,
    mspId: issuer.mspId,
    user: parsed.subjectName.getField('CN')[0] ?? '',
    type: ou.includes('admin') ? 'admin' : 'client',
    role: (ROLES as readonly string[]).includes(role ?? '') ? (role as Role) : null,
    subject,
    cert,
  };
}
