/**
 * The one interface every ledger backend implements (the embedded ledger here; a Fabric gateway later), and
 * the signed proposal a client sends to it: ECDSA with SHA-256 over the canonical bytes of the proposal,
 * made with the caller's enrolment key, checked against the CAs of the known MSPs.
 */
import { createHash, createPrivateKey, randomBytes, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { canonicalBytes } from './canonical';

/** Who submits: an enrolled identity of libs/identity (only these three fields are used). */
export interface SigningIdentity {
  mspId: string;
  certPem: string;
  privateKeyPem: string;
}

/** Where a reader of the event stream stands: just after this transaction of this block. */
export interface Checkpoint {
  blockNumber: number;
  txIndex: number;
}

export interface SubmitResult {
  txId: string;
  /** What the transaction function returned (the chaincode returns JSON strings). */
  result: string;
  blockNumber: number;
}

export interface ChaincodeEvent {
  blockNumber: number;
  txId: string;
  eventName: string;
  /** The event payload as the chaincode set it (UTF-8). */
  payload: string;
  /** Pass this back to `events()` to resume after this event. */
  checkpoint: Checkpoint;
}

export interface LedgerGateway {
  /** The channel and chaincode it talks to (proposals name them). */
  readonly channel: string;
  readonly chaincode: string;
  /** Endorses (simulates), orders and commits; rejects with the chaincode's or the validator's reason. */
  submit(identity: SigningIdentity, txName: string, args: string[]): Promise<SubmitResult>;
  /** Simulates against the committed state and returns the result; nothing is ordered. */
  evaluate(identity: SigningIdentity, txName: string, args: string[]): Promise<string>;
  /** Endorses, orders and commits a proposal its author signed elsewhere (prepare → caller signs → submit): whoever relays it cannot forge the author. */
  submitSigned(signed: SignedProposal): Promise<SubmitResult>;
  /** Evaluates a proposal its author signed elsewhere. */
  evaluateSigned(signed: SignedProposal): Promise<string>;
  /** Blocks on the channel now (the next block's number): how far an indexer following the events can be behind. */
  chainHeight(): Promise<number>;
  /** Chaincode events of valid transactions after `fromCheckpoint` (all of them without one), then live ones until `close()`. */
  events(fromCheckpoint?: Checkpoint): AsyncIterable<ChaincodeEvent>;
  close(): Promise<void>;
}

/** What a client asks for; its canonical bytes are what it signs. */
export interface Proposal {
  channel: string;
  chaincode: string;
  /** `contract:Function`, e.g. `passport:Create`; without a contract name the default (first) contract. */
  txName: string;
  args: string[];
  creator: { mspId: string; certPem: string };
  /** Base64 random bytes; with the creator they make the transaction id, as Fabric does. */
  nonce: string;
  /** Client time, ISO 8601: the transaction timestamp the chaincode sees. */
  timestamp: string;
}

export interface SignedProposal {
  proposal: Proposal;
  /** Base64 DER ECDSA signature over `canonicalBytes(proposal)`. */
  signature: string;
}

/** The CA certificates (PEM) of each known MSP. */
export type MspDirectory = Record<string, string[]>;

/** A proposal or transaction the ledger refuses; `message` is the plain reason. */
export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    message: string,
    /** `BAD_PROPOSAL`, `ENDORSEMENT_FAILURE` (the chaincode refused), `MVCC_READ_CONFLICT`… */
    readonly code: string,
  ) {
    super(message);
  }
}

/** Fabric's transaction id: hex SHA-256 of nonce ‖ creator. */
export function txIdOf(proposal: Proposal): string {
  return createHash('sha256')
    .update(Buffer.from(proposal.nonce, 'base64'))
    .update(proposal.creator.mspId)
    .update(proposal.creator.certPem)
    .digest('hex');
}

/**
 * The unsigned proposal for `txName(args)` by `creator`: the first step of prepare → sign → submit. Whoever
 * prepares it (a registry) hands `canonicalBytes(proposal)` to the creator, who signs them with `signPrepared`.
 */
export function prepareProposal(
  creator: { mspId: string; certPem: string },
  txName: string,
  args: string[],
  options: { channel?: string; chaincode?: string; now?: Date } = {},
): Proposal {
  return {
    channel: options.channel ?? 'passports',
    chaincode: options.chaincode ?? 'ai-passport',
    txName,
    args: [...args],
    creator: { mspId: creator.mspId, certPem: creator.certPem },
    nonce: randomBytes(24).toString('base64'),
    timestamp: (options.now ?? new Date()).toISOString(),
  };
}

/** The creator's signature over a prepared proposal (its key never leaves the caller). */
export function signPrepared(identity: SigningIdentity, proposal: Proposal): SignedProposal {
  if (proposal.creator.mspId !== identity.mspId || proposal.creator.certPem !== identity.certPem) {
    throw new LedgerError(`the proposal names ${proposal.creator.mspId} with another certificate than the signer's`, 'BAD_PROPOSAL');
  }
  return { proposal, signature: sign('sha256', canonicalBytes(proposal), privateKeyOf(identity.privateKeyPem)).toString('base64') };
}

export function signProposal(
  identity: SigningIdentity,
  txName: string,
  args: string[],
  options: { channel?: string; chaincode?: string; now?: Date } = {},
): SignedProposal {
  return signPrepared(identity, prepareProposal(identity, txName, args, options));
}

/** Parsed private keys by PEM: parsing one costs more than signing with it (a caller signs many proposals). */
const privateKeys = new Map<string, KeyObject>();
function privateKeyOf(pem: string): KeyObject {
  let key = privateKeys.get(pem);
  if (!key) {
    if (privateKeys.size >= 256) privateKeys.clear();
    key = createPrivateKey(pem);
    privateKeys.set(pem, key);
  }
  return key;
}

/**
 * Certificates already found issued by a CA of their MSP, per MSP directory: parsing a certificate and checking its
 * CA signature cost more than the rest of a proposal check. Validity dates and the proposal signature are still
 * checked every time.
 */
const issuedCertificates = new WeakMap<MspDirectory, Map<string, X509Certificate>>();

function issuedCertificate(msps: MspDirectory, mspId: string, certPem: string, refuse: (reason: string) => never): X509Certificate {
  let known = issuedCertificates.get(msps);
  if (!known) issuedCertificates.set(msps, (known = new Map()));
  const cacheKey = `${mspId}\n${certPem}`;
  const cached = known.get(cacheKey);
  if (cached) return cached;
  const cas = msps[mspId];
  if (!cas) return refuse(`MSP ${mspId} is not a member of this ledger`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return refuse('the creator certificate is not a valid X.509 certificate');
  }
  const issued = cas.some((pem) => {
    const ca = new X509Certificate(pem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  });
  if (!issued) refuse(`the creator certificate is not issued by a CA of MSP ${mspId}`);
  if (known.size >= 1024) known.clear();
  known.set(cacheKey, cert);
  return cert;
}

/**
 * Checks a signed proposal as a peer does: the creator's certificate is issued by a CA of its MSP and valid
 * now, and the signature over the proposal is made with that certificate's key. Throws a LedgerError otherwise.
 */
export function checkProposal(signed: SignedProposal, msps: MspDirectory, now = new Date()): void {
  const refuse = (reason: string): never => {
    throw new LedgerError(`proposal refused: ${reason}`, 'BAD_PROPOSAL');
  };
  const { proposal, signature } = signed ?? ({} as SignedProposal);
  if (!proposal?.creator?.certPem) refuse('it names no creator certificate');
  const cert = issuedCertificate(msps, proposal.creator.mspId, proposal.creator.certPem, refuse);
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) refuse('the creator certificate is expired or not yet valid');
  if (!signature) refuse('it is not signed');
  const ok = verify('sha256', canonicalBytes(proposal), cert.publicKey, Buffer.from(signature, 'base64'));
  if (!ok) refuse('the signature does not match the proposal and the creator certificate');
}

/** The chaincode's answer to `dataset:CheckGrant` (it never refuses for a missing grant: `live` says). */
export interface GrantAnswer {
  live: boolean;
  reason: string;
}

/**
 * Whether a live grant lets `subject` (a passport) use `datasetId` for `purpose`, asked as `reader`. A chaincode
 * refusal (no such dataset) is a LedgerError with code ENDORSEMENT_FAILURE; each caller decides what that means.
 */
export async function checkGrant(ledger: LedgerGateway, reader: SigningIdentity, datasetId: string, subject: string, purpose: string): Promise<GrantAnswer> {
  const answer = JSON.parse(await ledger.evaluate(reader, 'dataset:CheckGrant', [datasetId, subject, purpose])) as GrantAnswer;
  return { live: answer.live, reason: answer.reason };
}
