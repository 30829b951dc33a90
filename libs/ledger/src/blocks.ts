/**
 * The block file: one JSON line per block in `<dir>/blocks.jsonl`, each block hash-chained to the one
 * before it (SHA-256 over the canonical encoding of its header), appended and fsync'd before a commit is
 * acknowledged. `verifyChain` re-checks it and names the first bad block.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from './canonical';

export const BLOCK_FILE = 'blocks.jsonl';
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

/** The block file of one ledger directory: read once at start, then appended to. */
export class BlockFile {
  private readonly file: string;
  private fd: number | null = null;

  constructor(dir: string) {
    this.file = path.join(dir, BLOCK_FILE);
  }

  /** Every block, checked; a broken chain refuses to start rather than serve a tampered state. */
  readAll(): Block[] {
    const result = verifyChain(path.dirname(this.file));
    if (!result.ok) throw new Error(`${this.file}: block ${result.block} is bad: ${result.reason}`);
    return parseLines(this.file).map((line) => JSON.parse(line) as Block);
  }

  append(block: Block): void {
    this.fd ??= openSync(this.file, 'a', 0o600);
    writeSync(this.fd, `${JSON.stringify(block)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
