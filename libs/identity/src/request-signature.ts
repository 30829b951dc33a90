import { createHash, createPrivateKey, sign, verify } from 'node:crypto';
import { SignerError, verifySigner, type Signer } from './signer';

/**
 * Signed REST requests: the caller signs the method, the path with its query, the time and the body's digest with
 * the key of its X.509 identity, and sends its certificate along. A service checks the certificate against the
 * organisations it knows, the time against its clock, and the signature; then it knows who asks (organisation,
 * user, role) without passwords or tokens to hand out.
 */
export const REQUEST_HEADERS = {
  certificate: 'x-fedledger-certificate',
  timestamp: 'x-fedledger-timestamp',
  signature: 'x-fedledger-signature',
} as const;

/** How far a request's timestamp may be from the service's clock, either way. */
export const REQUEST_MAX_SKEW_MS = 5 * 60 * 1000;

export interface SignedRequest {
  method: string;
  /** The path with its query string, as sent (`/experiments/e1/start`). */
  path: string;
  body: Uint8Array;
}

/** The signed bytes: fixed lines, so no field can bleed into another. */
export function requestSigningBytes(r: SignedRequest, timestampMs: number): Buffer {
  const digest = createHash('sha256').update(r.body).digest('hex');
  return Buffer.from(['fedledger/request/v1', r.method.toUpperCase(), r.path, String(timestampMs), digest].join('\n'), 'utf8');
}

/** The headers that sign `r` as `identity` (ECDSA P-256, SHA-256). */
export function signRequest(identity: { certPem: string; privateKeyPem: string }, r: SignedRequest, now = Date.now()): Record<string, string> {
  return {
    [REQUEST_HEADERS.certificate]: Buffer.from(identity.certPem, 'utf8').toString('base64'),
    [REQUEST_HEADERS.timestamp]: String(now),
    [REQUEST_HEADERS.signature]: sign('sha256', requestSigningBytes(r, now), createPrivateKey(identity.privateKeyPem)).toString('base64'),
  };
}

/** A JSON POST to `path`, signed as `identity`: the fetch options (body bytes and headers) to send as they are. */
export function signedJsonPost(identity: { certPem: string; privateKeyPem: string }, path: string, body: unknown): { method: 'POST'; body: Buffer; headers: Record<string, string> } {
  const bytes = Buffer.from(JSON.stringify(body ?? {}), 'utf8');
  return { method: 'POST', body: bytes, headers: { 'content-type': 'application/json', ...signRequest(identity, { method: 'POST', path, body: bytes }) } };
}

/** Why a request's signature does not hold (answered 401 with this reason). */
export class RequestSignatureError extends Error {
  override readonly name = 'RequestSignatureError';
}

/**
 * Checks a signed request: its three headers are there, the certificate was issued by an organisation of
 * `identityDir` and is valid now, the timestamp is within REQUEST_MAX_SKEW_MS of `now`, and the signature covers
 * this method, path, timestamp and body. Returns the signer with the signature's bytes (for a replay check);
 * throws RequestSignatureError with the reason.
 */
export function verifyRequestSignature(
  identityDir: string,
  r: SignedRequest,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  now = Date.now(),
): Signer & { signature: string; timestampMs: number } {
  const what = `request ${r.method.toUpperCase()} ${r.path}`;
  const header = (name: string): string => {
    const value = headers[name];
    if (typeof value !== 'string' || value === '') {
      throw new RequestSignatureError(`${what} is not signed: header ${name} is ${value === undefined ? 'missing' : 'not a single value'} (sign requests with your identity, e.g. \`fedledger experiment … --as <org>/<user>\`)`);
    }
    return value;
  };
  const certPem = Buffer.from(header(REQUEST_HEADERS.certificate), 'base64').toString('utf8');
  const timestampText = header(REQUEST_HEADERS.timestamp);
  const signature = header(REQUEST_HEADERS.signature);
  const timestampMs = Number(timestampText);
  if (!/^\d{1,15}$/.test(timestampText) || !Number.isSafeInteger(timestampMs)) throw new RequestSignatureError(`${what}: header ${REQUEST_HEADERS.timestamp} must be milliseconds since the epoch, got '${timestampText.slice(0, 40)}'`);
  if (Math.abs(now - timestampMs) > REQUEST_MAX_SKEW_MS) {
    throw new RequestSignatureError(`${what}: signed at ${new Date(timestampMs).toISOString()}, more than ${REQUEST_MAX_SKEW_MS / 60_000} minutes from this service's clock (${new Date(now).toISOString()})`);
  }
  let signer: Signer;
  try {
    signer = verifySigner(identityDir, certPem, { now: new Date(now) });
  } catch (err) {
    if (err instanceof SignerError) throw new RequestSignatureError(`${what}${err.clause}`);
    throw err;
  }
  if (!verify('sha256', requestSigningBytes(r, timestampMs), signer.cert.publicKey, Buffer.from(signature, 'base64'))) {
    throw new RequestSignatureError(`${what}: the signature does not match this method, path, time and body (signed by ${signer.mspId}/${signer.user})`);
  }
  return { ...signer, signature, timestampMs };
}
