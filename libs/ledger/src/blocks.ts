/**
 * The block file: one JSON line per block in `<dir>/blocks.jsonl`, each block hash-chained to the one
 * before it (SHA-256 over the canonical encoding of its header), appended and fsync'd before a commit is
 * acknowledged. `verifyChain` re-checks it and names the first bad block.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from './canonical';
import { LedgerError } from './ledger-gateway';

export const BLOCK_FILE = 'blocks.jsonl';
/** Who appends to the block file: one process at a time (`{ pid, holder, since }`). */
export const WRITER_LOCK = 'writer.lock';
export const GENESIS_PREVIOUS_HASH = '0'.repeat(64);

export type ValidationCode = 'VALID' | 'MVCC_READ_CONFLICT';

/** The version of a key: the block and transaction index that last wrote it. */
export interface KeyVersion {
  block: number;
  tx: number;
}

export interface ReadSet {
  key: string;
  /** null when the key did not exist at simulation time. */
  version: KeyVersion | null;
}

export interface WriteSet {
  key: string;
  isDelete: boolean;
  /** Base64 of the value; '' for a delete. */
  value: string;
}

export interface BlockEvent {
  name: string;
  /** Base64 of the payload. */
  payload: string;
}

export interface BlockTransaction {
  txId: string;
  creator: { mspId: string; certPem: string };
  txName: string;
  /** The proposal's timestamp, ISO 8601. */
  timestamp: string;
  validationCode: ValidationCode;
  rwset: { reads: ReadSet[]; writes: WriteSet[] };
  events: BlockEvent[];
}

export interface BlockHeader {
  number: number;
  previousHash: string;
  dataHash: string;
}

export interface Block extends BlockHeader {
  /** SHA-256 of the canonical header. */
  hash: string;
  transactions: BlockTransaction[];
}

export function makeBlock(number: number, previousHash: string, transactions: BlockTransaction[]): Block {
  const header: BlockHeader = { number, previousHash, dataHash: sha256Hex(transactions) };
  return { ...header, hash: sha256Hex(header), transactions };
}

export type VerifyResult = { ok: true; blocks: number } | { ok: false; block: number; reason: string };

/** Why this block is bad (null when it is good), given what the chain up to it says. */
function blockProblem(block: Block, expectedNumber: number, previousHash: string): string | null {
  if (block.number !== expectedNumber) return `block number is ${String(block.number)}, expected ${expectedNumber}`;
  if (block.previousHash !== previousHash) return 'previousHash does not match the hash of the previous block';
  if (!Array.isArray(block.transactions)) return 'it has no transaction list';
  if (sha256Hex(block.transactions) !== block.dataHash) return 'dataHash does not match its transactions';
  if (sha256Hex({ number: block.number, previousHash: block.previousHash, dataHash: block.dataHash }) !== block.hash) {
    return 'hash does not match its header';
  }
  return null;
}

function parseLines(file: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Re-checks every block of `<dir>/blocks.jsonl`: numbering, hash chain, data hash, header hash. */
export function verifyChain(dir: string): VerifyResult {
  let previousHash = GENESIS_PREVIOUS_HASH;
  const lines = parseLines(path.join(dir, BLOCK_FILE));
  for (const [index, line] of lines.entries()) {
    let block: Block;
    try {
      block = JSON.parse(line) as Block;
    } catch {
      return { ok: false, block: index, reason: 'it is not valid JSON' };
    }
    const problem = blockProblem(block, index, previousHash);
    if (problem) return { ok: false, block: index, reason: problem };
    previousHash = block.hash;
  }
  return { ok: true, blocks: lines.length };
}

/** Another live process holds the writer lock of a ledger directory. */
export class LedgerBusyError extends LedgerError {
  constructor(
    readonly dir: string,
    readonly pid: number,
    readonly holder: string,
  ) {
    super(`the ledger in ${dir} is being written by ${holder} (pid ${pid}); send the transaction through it, or stop it first`, 'LEDGER_BUSY');
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The block file of one ledger directory: read at start, then appended to. Appending takes the directory's
 * writer lock first (one writing process at a time: two would fork the chain); a lock whose process is gone
 * is taken over. Readers take no lock.
 */
export class BlockFile {
  private readonly file: string;
  private readonly lockFile: string;
  private fd: number | null = null;
  private locked = false;
  /** Bytes of the file read so far (whole blocks). */
  private offset = 0;

  constructor(dir: string) {
    this.file = path.join(dir, BLOCK_FILE);
    this.lockFile = path.join(dir, WRITER_LOCK);
  }

  /** Every block, checked; a broken chain refuses to start rather than serve a tampered state. */
  readAll(): Block[] {
    this.offset = 0;
    return this.readNew(0, GENESIS_PREVIOUS_HASH);
  }

  /**
   * The blocks appended after what this reader consumed (another process writing): complete lines only (one
   * being written is left for the next call), each checked against the chain so far — `next` is the number
   * the first must have, `previousHash` the hash it must link to.
   */
  readNew(next: number, previousHash: string): Block[] {
    if (!existsSync(this.file)) return [];
    const fd = openSync(this.file, 'r');
    let bytes: Buffer;
    try {
      const size = fstatSync(fd).size;
      if (size <= this.offset) return [];
      bytes = Buffer.alloc(size - this.offset);
      let read = 0;
      while (read < bytes.length) {
        const n = readSync(fd, bytes, read, bytes.length - read, this.offset + read);
        if (n === 0) break;
        read += n;
      }
      bytes = bytes.subarray(0, read);
    } finally {
      closeSync(fd);
    }
    const complete = bytes.lastIndexOf(0x0a) + 1;
    const blocks: Block[] = [];
    let number = next;
    let hash = previousHash;
    for (const line of bytes.subarray(0, complete).toString('utf8').split('\n')) {
      if (line === '') continue;
      let block: Block;
      try {
        block = JSON.parse(line) as Block;
      } catch {
        throw new Error(`${this.file}: block ${number} is bad: it is not valid JSON`);
      }
      const problem = blockProblem(block, number, hash);
      if (problem) throw new Error(`${this.file}: block ${number} is bad: ${problem}`);
      blocks.push(block);
      number += 1;
      hash = block.hash;
    }
    this.offset += complete;
    return blocks;
  }

  /** Whether this process holds the writer lock. */
  get writing(): boolean {
    return this.locked;
  }

  /**
   * Takes the writer lock for this process (named `holder` in the refusal others get) and returns the blocks
   * other processes appended after the `known` blocks ending with hash `lastHash`, so the caller catches up
   * before it validates.
   */
  lock(holder: string, known: number, lastHash: string): Block[] {
    if (this.locked) return [];
    for (let attempt = 0; ; attempt++) {
      try {
        writeFileSync(this.lockFile, JSON.stringify({ pid: process.pid, holder, since: new Date().toISOString() }), { flag: 'wx', mode: 0o600 });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
        const owner = this.lockOwner();
        if (owner && alive(owner.pid)) throw new LedgerBusyError(path.dirname(this.file), owner.pid, owner.holder);
        rmSync(this.lockFile, { force: true }); // left by a process that is gone
      }
    }
    this.locked = true;
    return this.readNew(known, lastHash);
  }

  private lockOwner(): { pid: number; holder: string } | undefined {
    try {
      const o = JSON.parse(readFileSync(this.lockFile, 'utf8')) as { pid?: unknown; holder?: unknown };
      return typeof o.pid === 'number' ? { pid: o.pid, holder: typeof o.holder === 'string' ? o.holder : 'another process' } : undefined;
    } catch {
      return undefined; // unreadable or half-written: treated as stale
    }
  }

  append(block: Block): void {
    if (!this.locked) throw new Error(`${this.file}: append without the writer lock`);
    this.fd ??= openSync(this.file, 'a', 0o600);
    const line = Buffer.from(`${JSON.stringify(block)}\n`);
    writeSync(this.fd, line);
    fsyncSync(this.fd);
    this.offset += line.length;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    if (this.locked) rmSync(this.lockFile, { force: true });
    this.locked = false;
  }
}
