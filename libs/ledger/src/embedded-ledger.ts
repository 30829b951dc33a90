/**
 * The single-machine ledger: runs the chaincode unmodified, in-process, through fabric-shim's own contract
 * dispatcher (ChaincodeFromContract, what `fabric-chaincode-node start` runs) over a stub of the ChaincodeStub
 * API. A submit is endorsed (signature and MSP checked, simulated with a read and write set), ordered into a
 * block of its own, validated (MVCC: every key read must still be at the version it was read at) and
 * committed; every block, valid or not, is appended to `<dir>/blocks.jsonl` with fsync, and the file is
 * replayed on start to rebuild state, history and the event log.
 */
import { mkdirSync } from 'node:fs';
import { JSONSerializer } from 'fabric-contract-api';
import ChaincodeFromContract from 'fabric-shim/lib/contract-spi/chaincodefromcontract';
import { BlockFile, GENESIS_PREVIOUS_HASH, makeBlock, type Block, type BlockTransaction, type ValidationCode } from './blocks';
import { checkProposal, LedgerError, signProposal, txIdOf } from './ledger-gateway';
import type { ChaincodeEvent, Checkpoint, LedgerGateway, MspDirectory, SignedProposal, SigningIdentity, SubmitResult } from './ledger-gateway';
import { SimulationStub } from './simulation-stub';
import { WorldState } from './world-state';

export interface EmbeddedLedgerOptions {
  /** Folder of the block file; created if missing. */
  dir: string;
  /** The chaincode's contract classes (the chaincode package's `contracts`); the first is the default. */
  contracts: ReadonlyArray<new () => unknown>;
  /** CA certificates (PEM) of each MSP allowed to transact. */
  msps: MspDirectory;
  channel?: string;
  chaincode?: string;
  /** Names this process in the refusal another process gets while this one writes (default `process <pid>`). */
  holder?: string;
  /** How often a reader of a folder another process writes looks for new blocks while it follows events (ms, default 50). */
  followPollMs?: number;
}

/** A simulated, not yet committed transaction: what `endorse` returns and `commit` orders. */
export interface Endorsement {
  txId: string;
  proposal: SignedProposal['proposal'];
  result: string;
  transaction: Omit<BlockTransaction, 'validationCode'>;
}

const SERIALIZERS = { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } };

export class EmbeddedLedger implements LedgerGateway {
  readonly channel: string;
  readonly chaincode: string;
  private readonly state = new WorldState();
  private readonly blocks: Block[] = [];
  private readonly file: BlockFile;
  private readonly dispatcher: ChaincodeFromContract;
  private readonly waiters = new Set<() => void>();
  private readonly committedTxIds = new Set<string>();
  private closed = false;

  constructor(private readonly options: EmbeddedLedgerOptions) {
    this.channel = options.channel ?? 'passports';
    this.chaincode = options.chaincode ?? 'ai-passport';
    // The dispatcher appends its system contract to the array it is given: give it a copy.
    this.dispatcher = new ChaincodeFromContract([...options.contracts], SERIALIZERS);
    mkdirSync(options.dir, { recursive: true });
    this.file = new BlockFile(options.dir);
    for (const block of this.file.readAll()) this.apply(block);
  }

  /** Number of blocks on the ledger (the next block's number). */
  get height(): number {
    return this.blocks.length;
  }

  async submit(identity: SigningIdentity, txName: string, args: string[]): Promise<SubmitResult> {
    const endorsement = await this.endorse(this.sign(identity, txName, args));
    return this.commit(endorsement);
  }

  async evaluate(identity: SigningIdentity, txName: string, args: string[]): Promise<string> {
    this.catchUp();
    const { result } = await this.simulate(this.sign(identity, txName, args));
    return result;
  }

  /** Commits a proposal the caller signed elsewhere (prepare → sign → submit): the registry cannot forge its author. */
  async submitSigned(signed: SignedProposal): Promise<SubmitResult> {
    return this.commit(await this.endorse(signed));
  }

  /** Evaluates a proposal the caller signed elsewhere. */
  async evaluateSigned(signed: SignedProposal): Promise<string> {
    this.catchUp();
    return (await this.simulate(signed)).result;
  }

  /** Checks and simulates a signed proposal against the committed state; rejects with the chaincode's reason. */
  async endorse(signed: SignedProposal): Promise<Endorsement> {
    this.assertOpen();
    this.becomeWriter();
    return this.simulate(signed);
  }

  /** Orders an endorsement into a block, validates it and commits it; rejects if the block marks it invalid. */
  async commit(endorsement: Endorsement): Promise<SubmitResult> {
    this.assertOpen();
    this.becomeWriter();
    if (this.committedTxIds.has(endorsement.txId)) throw new LedgerError(`transaction ${endorsement.txId} is already on the ledger`, 'DUPLICATE_TXID');
    const validationCode = this.validate(endorsement.transaction);
    const previous = this.blocks[this.blocks.length - 1];
    const block = makeBlock(this.blocks.length, previous ? previous.hash : GENESIS_PREVIOUS_HASH, [{ ...endorsement.transaction, validationCode }]);
    this.file.append(block);
    this.apply(block);
    if (validationCode !== 'VALID') {
      throw new LedgerError(`transaction ${endorsement.txId} is invalid: ${validationCode} (a key it read was changed by a later commit)`, validationCode);
    }
    return { txId: endorsement.txId, result: endorsement.result, blockNumber: block.number };
  }

  /**
   * Chaincode events after `fromCheckpoint`, then live ones until `close()`: this process' own commits wake the
   * reader at once; a reader of a folder another process writes polls the block file every `followPollMs`.
   */
  async *events(fromCheckpoint?: Checkpoint): AsyncIterable<ChaincodeEvent> {
    let cursor: Checkpoint = fromCheckpoint ?? { blockNumber: -1, txIndex: Number.MAX_SAFE_INTEGER };
    for (;;) {
      this.catchUp();
      const pending = this.eventsAfter(cursor);
      for (const event of pending) {
        yield event;
        cursor = event.checkpoint;
      }
      if (this.closed) return;
      if (pending.length === 0) {
        await new Promise<void>((resolve) => {
          const woken = () => {
            clearTimeout(timer);
            resolve();
          };
          const timer = this.file.writing
            ? undefined
            : setTimeout(() => {
                this.waiters.delete(woken);
                resolve();
              }, this.options.followPollMs ?? 50);
          this.waiters.add(woken);
        });
      }
    }
  }

  async chainHeight(): Promise<number> {
    return this.catchUp();
  }

  /** Where the last chaincode event on the ledger sits (after catching up with the file); undefined when there is none. */
  lastEventCheckpoint(): Checkpoint | undefined {
    this.catchUp();
    for (let b = this.blocks.length - 1; b >= 0; b -= 1) {
      const txs = this.blocks[b].transactions;
      for (let t = txs.length - 1; t >= 0; t -= 1) if (txs[t].validationCode === 'VALID' && txs[t].events.length > 0) return { blockNumber: b, txIndex: t };
    }
    return undefined;
  }

  /** The committed blocks (read-only view). */
  getBlocks(): readonly Block[] {
    return this.blocks;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.file.close();
    this.wake();
  }

  private sign(identity: SigningIdentity, txName: string, args: string[]): SignedProposal {
    return signProposal(identity, txName, args, { channel: this.channel, chaincode: this.chaincode });
  }

  /**
   * The first endorsement takes the directory's writer lock and applies what other processes appended since
   * this one read the file, so it simulates against the latest state. Evaluations need no lock.
   */
  private becomeWriter(): void {
    if (this.file.writing) return;
    for (const block of this.file.lock(this.options.holder ?? `process ${process.pid}`, this.blocks.length, this.lastHash)) this.apply(block);
  }

  private get lastHash(): string {
    return this.blocks[this.blocks.length - 1]?.hash ?? GENESIS_PREVIOUS_HASH;
  }

  /**
   * Applies the blocks another process appended to the folder since this one last looked (a reader following
   * a writer, e.g. the ledger-indexer behind the passport-registry); nothing to do for the writer itself.
   * Returns the height.
   */
  catchUp(): number {
    if (!this.closed && !this.file.writing) for (const block of this.file.readNew(this.blocks.length, this.lastHash)) this.apply(block);
    return this.blocks.length;
  }

  private assertOpen(): void {
    if (this.closed) throw new LedgerError('the ledger is closed', 'CLOSED');
  }

  private async simulate(signed: SignedProposal): Promise<Endorsement> {
    this.assertOpen();
    checkProposal(signed, this.options.msps);
    const { proposal } = signed;
    if (proposal.channel !== this.channel || proposal.chaincode !== this.chaincode) {
      throw new LedgerError(`proposal refused: it is for ${proposal.channel}/${proposal.chaincode}, this ledger runs ${this.channel}/${this.chaincode}`, 'BAD_PROPOSAL');
    }
    const txId = txIdOf(proposal);
    const stub = new SimulationStub(this.state, proposal, txId, this.chaincode);
    const response = await this.dispatcher.Invoke(stub);
    if (response.status !== 200) throw new LedgerError(response.message ?? 'the chaincode failed', 'ENDORSEMENT_FAILURE');
    return {
      txId,
      proposal,
      result: response.payload ? Buffer.from(response.payload).toString('utf8') : '',
      transaction: {
        txId,
        creator: { mspId: proposal.creator.mspId, certPem: proposal.creator.certPem },
        txName: proposal.txName,
        timestamp: proposal.timestamp,
        rwset: { reads: [...stub.reads.values()], writes: [...stub.writes.values()] },
        events: stub.event ? [{ name: stub.event.name, payload: stub.event.payload.toString('base64') }] : [],
      },
    };
  }

  /** MVCC: every key read at simulation must still be at the same version (or still absent). */
  private validate(tx: Omit<BlockTransaction, 'validationCode'>): ValidationCode {
    for (const read of tx.rwset.reads) {
      const now = this.state.get(read.key)?.version ?? null;
      const same = now === null || read.version === null ? now === read.version : now.block === read.version.block && now.tx === read.version.tx;
      if (!same) return 'MVCC_READ_CONFLICT';
    }
    return 'VALID';
  }

  /** Applies the valid transactions of a committed block to state and history, and wakes event readers. */
  private apply(block: Block): void {
    block.transactions.forEach((tx, index) => {
      this.committedTxIds.add(tx.txId);
      if (tx.validationCode !== 'VALID') return;
      const ms = Date.parse(tx.timestamp);
      const timestamp = { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
      for (const write of tx.rwset.writes) {
        this.state.apply(write.key, write.isDelete ? null : Buffer.from(write.value, 'base64'), { block: block.number, tx: index }, { txId: tx.txId, timestamp });
      }
    });
    this.blocks.push(block);
    this.wake();
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const resolve of waiters) resolve();
  }

  private eventsAfter(cursor: Checkpoint): ChaincodeEvent[] {
    const out: ChaincodeEvent[] = [];
    for (let b = Math.max(cursor.blockNumber, 0); b < this.blocks.length; b += 1) {
      this.blocks[b].transactions.forEach((tx, txIndex) => {
        if (b === cursor.blockNumber && txIndex <= cursor.txIndex) return;
        if (tx.validationCode !== 'VALID') return;
        for (const event of tx.events) {
          out.push({
            blockNumber: b,
            txId: tx.txId,
            eventName: event.name,
            payload: Buffer.from(event.payload, 'base64').toString('utf8'),
            checkpoint: { blockNumber: b, txIndex },
          });
        }
      });
    }
    return out;
  }
}
