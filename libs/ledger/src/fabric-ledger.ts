/**
 * The LedgerGateway on a real Hyperledger Fabric network, through the Fabric Gateway service of a peer
 * (`@hyperledger/fabric-gateway` 1.11, the last line that runs on Node 20). The same chaincode and the same
 * identities (libs/identity writes Fabric MSP folders) serve the embedded ledger and this one.
 */
import { createPrivateKey } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { common } from '@hyperledger/fabric-protos';
import { CommitError, connect, EndorseError, GatewayError, hash, signers, StatusCode, type Gateway, type Network } from '@hyperledger/fabric-gateway';
import { LedgerError, type ChaincodeEvent, type Checkpoint, type LedgerGateway, type SignedProposal, type SigningIdentity, type SubmitResult } from './ledger-gateway';

export interface FabricLedgerOptions {
  /** The peer's gateway endpoint, host:port. */
  peerEndpoint: string;
  /** PEM of the CA that signed the peer's TLS certificate; without it the connection is plain gRPC (a local test network only). */
  tlsRootCertPem?: string;
  /** The name the peer's TLS certificate was issued to, when it differs from the endpoint's host. */
  peerHostAlias?: string;
  channel?: string;
  chaincode?: string;
  /** Who reads the chaincode event stream and the chain height (the peer checks it is a member); required for `events()` and `chainHeight()`. */
  eventReader?: SigningIdentity;
  /** Deadlines of the gateway calls (ms): evaluate 5 s, endorse 15 s, submit 5 s, commit status 60 s by default. */
  timeoutsMs?: Partial<Record<'evaluate' | 'endorse' | 'submit' | 'commitStatus', number>>;
}

/** Fabric's name of a transaction validation code (MVCC_READ_CONFLICT, ...), as the embedded ledger names them. */
function validationName(code: number): string {
  return Object.entries(StatusCode).find(([, value]) => value === code)?.[0] ?? `validation code ${code}`;
}

const TIMEOUTS = { evaluate: 5_000, endorse: 15_000, submit: 5_000, commitStatus: 60_000 };

/** The chaincode's own message inside a peer's endorsement error ("chaincode response 500, <message>"). */
function chaincodeReason(err: GatewayError): string {
  const detail = err.details.find((d) => d.message) ?? undefined;
  const raw = detail?.message ?? err.message;
  return raw.replace(/^.*chaincode response \d+, /s, '');
}

/** A Fabric Gateway failure as a LedgerError with the same codes the embedded ledger uses. */
function ledgerError(err: unknown, endpoint: string): unknown {
  if (err instanceof CommitError) {
    const name = validationName(err.code);
    return new LedgerError(`transaction ${err.transactionId} is invalid: ${name}`, name);
  }
  if (err instanceof GatewayError) {
    if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED) {
      return new LedgerError(`the Fabric peer at ${endpoint} did not answer (${grpc.status[err.code]}): ${err.message}`, 'UNAVAILABLE');
    }
    if (err instanceof EndorseError) return new LedgerError(chaincodeReason(err), 'ENDORSEMENT_FAILURE');
    return new LedgerError(chaincodeReason(err), err.code === grpc.status.ABORTED ? 'ENDORSEMENT_FAILURE' : grpc.status[err.code] ?? 'GATEWAY_ERROR');
  }
  return err;
}

export class FabricLedger implements LedgerGateway {
  readonly channel: string;
  readonly chaincode: string;
  private readonly client: grpc.Client;
  private readonly gateways = new Map<string, Gateway>();
  private readonly streams = new Set<{ close(): void }>();
  private closed = false;

  constructor(private readonly options: FabricLedgerOptions) {
    this.channel = options.channel ?? 'passports';
    this.chaincode = options.chaincode ?? 'ai-passport';
    const credentials = options.tlsRootCertPem ? grpc.credentials.createSsl(Buffer.from(options.tlsRootCertPem)) : grpc.credentials.createInsecure();
    this.client = new grpc.Client(options.peerEndpoint, credentials, options.peerHostAlias ? { 'grpc.ssl_target_name_override': options.peerHostAlias } : {});
  }

  async submit(identity: SigningIdentity, txName: string, args: string[]): Promise<SubmitResult> {
    const contract = this.network(identity).getContract(this.chaincode);
    try {
      const submitted = await contract.submitAsync(txName, { arguments: args });
      const status = await submitted.getStatus();
      if (!status.successful) {
        const name = validationName(status.code);
        throw new LedgerError(`transaction ${status.transactionId} is invalid: ${name}`, name);
      }
      return { txId: status.transactionId, result: Buffer.from(submitted.getResult()).toString('utf8'), blockNumber: Number(status.blockNumber) };
    } catch (err) {
      throw ledgerError(err, this.options.peerEndpoint);
    }
  }

  async evaluate(identity: SigningIdentity, txName: string, args: string[]): Promise<string> {
    const contract = this.network(identity).getContract(this.chaincode);
    try {
      return Buffer.from(await contract.evaluateTransaction(txName, ...args)).toString('utf8');
    } catch (err) {
      throw ledgerError(err, this.options.peerEndpoint);
    }
  }

  /**
   * Fabric's offline signing takes three signatures from the author (proposal, transaction, commit-status
   * request) over protobuf digests, not the embedded ledger's one signature over canonical JSON: a relay such
   * as the passport-registry needs those round trips, which this class does not carry yet.
   */
  async submitSigned(signed: SignedProposal): Promise<SubmitResult> {
    throw new LedgerError(
      `transaction ${signed.proposal.txName}: relaying a proposal signed elsewhere needs Fabric's three-step offline signing (proposal, transaction and commit digests), not supported by this gateway yet; submit with the author's identity instead`,
      'NOT_SUPPORTED',
    );
  }

  async evaluateSigned(signed: SignedProposal): Promise<string> {
    throw new LedgerError(`evaluating ${signed.proposal.txName} signed elsewhere needs Fabric's offline signing of the proposal digest; evaluate with the reader's identity instead`, 'NOT_SUPPORTED');
  }

  /**
   * Chaincode events from the block of `fromCheckpoint` (the genesis block without one); within a block,
   * `txIndex` counts the chaincode's events, so a checkpoint resumes after the event it was taken at.
   */
  async *events(fromCheckpoint?: Checkpoint): AsyncIterable<ChaincodeEvent> {
    const reader = this.options.eventReader;
    if (!reader) throw new LedgerError('reading chaincode events from Fabric needs an identity: give FabricLedgerOptions.eventReader', 'BAD_REQUEST');
    const network = this.network(reader);
    const stream = await network.getChaincodeEvents(this.chaincode, { startBlock: BigInt(Math.max(0, fromCheckpoint?.blockNumber ?? 0)) }).catch((err: unknown) => {
      throw ledgerError(err, this.options.peerEndpoint);
    });
    this.streams.add(stream);
    let block = -1;
    let index = -1;
    try {
      for await (const event of stream) {
        const blockNumber = Number(event.blockNumber);
        index = blockNumber === block ? index + 1 : 0;
        block = blockNumber;
        if (fromCheckpoint && blockNumber === fromCheckpoint.blockNumber && index <= fromCheckpoint.txIndex) continue;
        yield {
          blockNumber,
          txId: event.transactionId,
          eventName: event.eventName,
          payload: Buffer.from(event.payload).toString('utf8'),
          checkpoint: { blockNumber, txIndex: index },
        };
      }
    } catch (err) {
      if (!this.closed) throw ledgerError(err, this.options.peerEndpoint);
    } finally {
      stream.close();
      this.streams.delete(stream);
    }
  }

  /** The channel's height from the peer's query system chaincode (qscc GetChainInfo). */
  async chainHeight(): Promise<number> {
    const reader = this.options.eventReader;
    if (!reader) throw new LedgerError('reading the chain height from Fabric needs an identity: give FabricLedgerOptions.eventReader', 'BAD_REQUEST');
    try {
      const bytes = await this.network(reader).getContract('qscc').evaluateTransaction('GetChainInfo', this.channel);
      return common.BlockchainInfo.deserializeBinary(bytes).getHeight();
    } catch (err) {
      throw ledgerError(err, this.options.peerEndpoint);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const stream of this.streams) stream.close();
    for (const gateway of this.gateways.values()) gateway.close();
    this.gateways.clear();
    this.client.close();
  }

  /** One gateway connection per identity (the gateway signs with it), over the one gRPC connection. */
  private network(identity: SigningIdentity): Network {
    if (this.closed) throw new LedgerError('the ledger is closed', 'CLOSED');
    const cacheKey = `${identity.mspId}\n${identity.certPem}`;
    let gateway = this.gateways.get(cacheKey);
    if (!gateway) {
      const t = { ...TIMEOUTS, ...this.options.timeoutsMs };
      gateway = connect({
        client: this.client,
        identity: { mspId: identity.mspId, credentials: Buffer.from(identity.certPem) },
        signer: signers.newPrivateKeySigner(createPrivateKey(identity.privateKeyPem)),
        hash: hash.sha256,
        evaluateOptions: () => ({ deadline: Date.now() + t.evaluate }),
        endorseOptions: () => ({ deadline: Date.now() + t.endorse }),
        submitOptions: () => ({ deadline: Date.now() + t.submit }),
        commitStatusOptions: () => ({ deadline: Date.now() + t.commitStatus }),
      });
      this.gateways.set(cacheKey, gateway);
    }
    return gateway.getNetwork(this.channel);
  }
}
