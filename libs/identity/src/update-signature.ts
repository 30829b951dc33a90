import { createHash, createPrivateKey, sign, verify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fabricAttributes, parseCertificate } from './certificates';
import { readOrganisations } from './msp';

/** What a centre's update signature covers: the weights of one task of one round of one experiment. */
export interface UpdateSigningFields {
  experimentId: string;
  round: number;
  centreId: string;
  taskId: string;
  /** sha256 (hex) of the weights blob. */
  weightsSha256: string;
  numExamples: number;
}

/** The signed bytes: fixed lines, so no field can bleed into another. */
export function updateSigningBytes(f: UpdateSigningFields): Buffer {
  return Buffer.from(['fedledger/update/v1', f.experimentId, String(f.round), f.centreId, f.taskId, f.weightsSha256, String(f.numExamples)].join('\n'), 'utf8');
}

export interface UpdateSignature {
  signature: Buffer;
  certPem: string;
  /** sha256 (hex) of the certificate's DER. */
  fingerprint: string;
}

/** Signs an update with a centre identity's key (ECDSA P-256, SHA-256, DER). */
export function signUpdate(identity: { certPem: string; privateKeyPem: string }, f: UpdateSigningFields): UpdateSignature {
  const signature = sign('sha256', updateSigningBytes(f), createPrivateKey(identity.privateKeyPem));
  return { signature, certPem: identity.certPem, fingerprint: certificateFingerprint(identity.certPem) };
}

/** Why an update's signature does not hold. */
export class UpdateSignatureError extends Error {
  override readonly name = 'UpdateSignatureError';
}

/**
 * Checks an update's signature: the certificate was issued by the CA of the organisation whose id is the update's
 * centre (an organisation of `identityDir`), carries role centre, is valid now, and its key signed these fields.
 * Returns the signer's organisation and MSP id; throws UpdateSignatureError with the reason.
 */
export function verifyUpdateSignature(identityDir: string, f: UpdateSigningFields, certPem: string, signature: Uint8Array, now = new Date()): { org: string; mspId: string; subject: string } {
  if (!certPem || signature.length === 0) throw new UpdateSignatureError(`update from centre ${f.centreId} is not signed`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new UpdateSignatureError(`update from centre ${f.centreId}: its signer certificate is not a valid X.509 certificate`);
  }
  const org = readOrganisations(identityDir).find((o) => o.id === f.centreId);
  if (!org) throw new UpdateSignatureError(`update from centre ${f.centreId}: no organisation ${f.centreId} is known here to check its signer against`);
  const caPem = readFileSync(path.join(identityDir, 'organizations', org.domain, 'msp', 'cacerts', 'ca-cert.pem'), 'utf8');
  const ca = new X509Certificate(caPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new UpdateSignatureError(`update from centre ${f.centreId} is signed by ${cert.subject.replace(/\n/g, ', ')}, not by an identity of organisation ${org.id} (${org.mspId})`);
  }
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) throw new UpdateSignatureError(`update from centre ${f.centreId}: its signer certificate is expired or not yet valid`);
  const role = fabricAttributes(parseCertificate(certPem)).role;
  if (role !== 'centre') throw new UpdateSignatureError(`update from centre ${f.centreId} is signed by an identity with ${role ? `role ${role}` : 'no role'}, not role centre`);
  if (!verify('sha256', updateSigningBytes(f), cert.publicKey, signature)) {
    throw new UpdateSignatureError(`update from centre ${f.centreId}: the signature does not match this experiment, round, task, weights digest and example count`);
  }
  return { org: org.id, mspId: org.mspId, subject: cert.subject };
}

/** sha256 (hex) of a certificate's DER, as ModelUpdate.signer_cert_fingerprint carries it. */
export function certificateFingerprint(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}
