/**
 * The fabric-shim ChaincodeStub API over the committed world state, for one transaction simulation. Like a
 * peer it reads committed state only (no read-your-own-writes), records the version of every key it reads
 * (the read set) and buffers writes (the write set); only the last `setEvent` counts.
 */
import type { ReadSet, WriteSet } from './blocks';
import type { Proposal } from './ledger-gateway';
import type { WorldState } from './world-state';

const NS = '\u0000';
const MAX_UNICODE = '\u{10FFFF}';

interface KV {
  namespace: string;
  key: string;
  value: Buffer;
}

/** fabric-shim's query iterator shape: `next()` resolving `{ value, done }`, and `close()`. */
function iteratorOf<T>(items: T[]) {
  const source = items[Symbol.iterator]();
  const next = async (): Promise<{ value: T; done: boolean }> => {
    const step = source.next();
    return step.done === true ? { value: undefined as unknown as T, done: true } : { value: step.value, done: false };
  };
  return { next, close: async (): Promise<void> => undefined, [Symbol.asyncIterator]: () => ({ next }) };
}

function validateCompositeKeyAttribute(attr: string): void {
  if (typeof attr !== 'string' || attr.includes(NS) || attr.includes(MAX_UNICODE)) {
    throw new Error(`invalid composite key attribute: ${JSON.stringify(attr)}`);
  }
}

export class SimulationStub {
  readonly reads = new Map<string, ReadSet>();
  readonly writes = new Map<string, WriteSet>();
  event: { name: string; payload: Buffer } | null = null;
  private readonly bufferArgs: Buffer[];

  constructor(
    private readonly state: WorldState,
    private readonly proposal: Proposal,
    private readonly txId: string,
    private readonly chaincodeName: string,
  ) {
    this.bufferArgs = [proposal.txName, ...proposal.args].map((a) => Buffer.from(a, 'utf8'));
  }

  // --- proposal ---------------------------------------------------------------------------------
  getArgs(): string[] {
    return this.bufferArgs.map((b) => b.toString('utf8'));
  }
  getStringArgs(): string[] {
    return this.getArgs();
  }
  getBufferArgs(): Buffer[] {
    return this.bufferArgs;
  }
  getFunctionAndParameters(): { fcn: string; params: string[] } {
    const [fcn, ...params] = this.getArgs();
    return { fcn, params };
  }
  getTxID(): string {
    return this.txId;
  }
  getChannelID(): string {
    return this.proposal.channel;
  }
  getCreator(): { mspid: string; idBytes: Buffer } {
    return { mspid: this.proposal.creator.mspId, idBytes: Buffer.from(this.proposal.creator.certPem) };
  }
  getMspID(): string {
    return this.proposal.creator.mspId;
  }
  getTransient(): Map<string, Uint8Array> {
    return new Map();
  }
  getTxTimestamp(): { seconds: number; nanos: number } {
    const ms = Date.parse(this.proposal.timestamp);
    return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
  }
  getDateTimestamp(): Date {
    return new Date(this.proposal.timestamp);
  }

  // --- state ------------------------------------------------------------------------------------
  private read(key: string): Buffer {
    const entry = this.state.get(key);
    if (!this.reads.has(key)) this.reads.set(key, { key, version: entry ? { ...entry.version } : null });
    return entry ? Buffer.from(entry.value) : Buffer.alloc(0);
  }
  async getState(key: string): Promise<Buffer> {
    return this.read(key);
  }
  async putState(key: string, value: Uint8Array): Promise<void> {
    if (!key) throw new Error('key must not be an empty string');
    this.writes.set(key, { key, isDelete: false, value: Buffer.from(value).toString('base64') });
  }
  async deleteState(key: string): Promise<void> {
    this.writes.set(key, { key, isDelete: true, value: '' });
  }
  setEvent(name: string, payload: Uint8Array): void {
    if (!name) throw new Error('event name must be a non-empty string');
    this.event = { name, payload: Buffer.from(payload) };
  }

  // --- composite keys and ranges ----------------------------------------------------------------
  createCompositeKey(objectType: string, attributes: string[]): string {
    validateCompositeKeyAttribute(objectType);
    attributes.forEach(validateCompositeKeyAttribute);
    return NS + objectType + NS + attributes.map((a) => a + NS).join('');
  }
  splitCompositeKey(compositeKey: string): { objectType: string | null; attributes: string[] } {
    if (!compositeKey || compositeKey[0] !== NS) return { objectType: null, attributes: [] };
    const [objectType, ...attributes] = compositeKey.slice(1, -1).split(NS);
    return { objectType, attributes };
  }

  /** Keys in [start, end) with their values; each becomes part of the read set. */
  private scan(start: string, end: string, pageSize?: number, bookmark?: string): { page: KV[]; next: string } {
    const keys = this.state.range(bookmark && bookmark > start ? bookmark : start, end);
    const page = pageSize === undefined ? keys : keys.slice(0, pageSize);
    const next = pageSize === undefined ? '' : (keys[pageSize] ?? '');
    return { page: page.map((key) => ({ namespace: this.chaincodeName, key, value: this.read(key) })), next };
  }
  async getStateByRange(startKey: string, endKey: string) {
    return iteratorOf(this.scan(startKey, endKey).page);
  }
  async getStateByRangeWithPagination(startKey: string, endKey: string, pageSize: number, bookmark?: string) {
    const { page, next } = this.scan(startKey, endKey, pageSize, bookmark);
    // As a Fabric peer: an empty last page carries no metadata at all (its protobuf encodes to nothing).
    return { iterator: iteratorOf(page), ...(page.length > 0 || next ? { metadata: { fetchedRecordsCount: page.length, bookmark: next } } : {}) };
  }
  async getStateByPartialCompositeKey(objectType: string, attributes: string[]) {
    const prefix = this.createCompositeKey(objectType, attributes);
    return iteratorOf(this.scan(prefix, prefix + MAX_UNICODE).page);
  }
  async getStateByPartialCompositeKeyWithPagination(objectType: string, attributes: string[], pageSize: number, bookmark?: string) {
    const prefix = this.createCompositeKey(objectType, attributes);
    return this.getStateByRangeWithPagination(prefix, prefix + MAX_UNICODE, pageSize, bookmark);
  }
  /** Newest first, as Fabric 2 returns them. History reads are not part of the read set (as in Fabric). */
  async getHistoryForKey(key: string) {
    return iteratorOf(this.state.historyOf(key).reverse());
  }
}
