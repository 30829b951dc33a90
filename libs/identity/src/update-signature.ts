import { createHash, createPrivateKey, sign, verify, X509Certificate } from 'node:crypto';
import { SignerError, verifySigner, type Signer } from './signer';

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
  const what = `update from centre ${f.centreId}`;
  if (!certPem || signature.length === 0) throw new UpdateSignatureError(`${what} is not signed`);
  let signer: Signer;
  try {
    signer = verifySigner(identityDir, certPem, { org: f.centreId, now });
  } catch (err) {
    if (err instanceof SignerError) throw new UpdateSignatureError(`${what}${err.clause}`);
    throw err;
  }
  if (signer.role !== 'centre') throw new UpdateSignatureError(`${what} is signed by an identity with ${signer.role ? `role ${signer.role}` : 'no role'}, not role centre`);
  if (!verify('sha256', updateSigningBytes(f), signer.cert.publicKey, signature)) {
    throw new UpdateSignatureError(`${what}: the signature does not match this experiment, round, task, weights digest and example count`);
  }
  return { org: signer.org, mspId: signer.mspId, subject: signer.subject };
}

/** sha256 (hex) of a certificate's DER, as ModelUpdate.signer_cert_fingerprint carries it. */
export function certificateFingerprint(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}
