/**
 * Test support: an in-memory stand-in for the parts of Fabric's ChaincodeStub and ClientIdentity that the
 * contracts use, so the tests run the contracts in-process. Like a peer, a transaction reads the committed
 * state only (no read-your-own-writes), and its writes and event are committed only if it succeeds.
 * Not the product's embedded ledger.
 */
import { Context } from 'fabric-contract-api';

const NS = '\u0000';

export interface Modification {
  txId: string;
  timestamp: { seconds: number; nanos: number };
  isDelete: boolean;
  value: Uint8Array;
}

export interface ChaincodeEvent {
  txId: string;
  name: string;
  payload: Record<string, unknown>;
}

export class MemoryIdentity {
  constructor(
    readonly mspId: string,
    readonly commonName: string,
    readonly attributes: Record<string, string> = {},
  ) {}

  /** fabric-shim's format: `x509::<subject>::<issuer>`. */
  getID(): string {
    return `x509::/C=US/O=${this.mspId}/OU=client/CN=${this.commonName}::/C=US/O=${this.mspId}/CN=ca.${this.mspId.toLowerCase()}`;
  }
  getMSPID(): string {
    return this.mspId;
  }
  getIDBytes(): Uint8Array {
    return Buffer.from(this.getID());
  }
  getAttributeValue(name: string): string | null {
    return this.attributes[name] ?? null;
  }
  assertAttributeValue(name: string, value: string): boolean {
    return this.attributes[name] === value;
  }
}

export function identity(mspId: string, commonName: string, role?: string): MemoryIdentity {
  return new MemoryIdentity(mspId, commonName, role ? { role } : {});
}

function iterator<T>(items: T[]) {
  let i = 0;
  return {
    async next(): Promise<{ value: T; done: boolean }> {
      return i < items.length ? { value: items[i++], done: false } : { value: undefined as unknown as T, done: true };
    },
    async close(): Promise<void> {},
  };
}

class MemoryStub {
  readonly writes = new Map<string, Uint8Array | null>();
  readonly events: { name: string; payload: Uint8Array }[] = [];

  constructor(
    private readonly ledger: MemoryLedger,
    private readonly txId: string,
    private readonly seconds: number,
  ) {}

  getTxID(): string {
    return this.txId;
  }
  getTxTimestamp(): { seconds: number; nanos: number } {
    return { seconds: this.seconds, nanos: 0 };
  }
  async getState(key: string): Promise<Uint8Array> {
    return this.ledger.state.get(key) ?? new Uint8Array(0);
  }
  async putState(key: string, value: Uint8Array): Promise<void> {
    if (!key) throw new Error('key must not be empty');
    this.writes.set(key, Uint8Array.from(value));
  }
  async deleteState(key: string): Promise<void> {
    this.writes.set(key, null);
  }
  setEvent(name: string, payload: Uint8Array): void {
    this.events.push({ name, payload });
  }
  createCompositeKey(objectType: string, attributes: string[]): string {
    return NS + objectType + NS + attributes.map((a) => a + NS).join('');
  }
  splitCompositeKey(key: string): { objectType: string; attributes: string[] } {
    const [objectType, ...attributes] = key.slice(1, -1).split(NS);
    return { objectType, attributes };
  }
  /** Keys in byte order; the bookmark is the first key of the next page ('' when there is none). */
  async getStateByPartialCompositeKeyWithPagination(objectType: string, attributes: string[], pageSize: number, bookmark?: string) {
    const prefix = this.createCompositeKey(objectType, attributes);
    const keys = [...this.ledger.state.keys()].filter((k) => k.startsWith(prefix)).sort();
    const start = bookmark ? keys.findIndex((k) => k >= bookmark) : 0;
    const page = start < 0 ? [] : keys.slice(start, start + pageSize);
    const next = start < 0 ? undefined : keys[start + pageSize];
    return {
      iterator: iterator(page.map((key) => ({ namespace: 'ai-passport', key, value: this.ledger.state.get(key)! }))),
      // As a Fabric peer: an empty last page carries no metadata.
      ...(page.length > 0 || next ? { metadata: { fetchedRecordsCount: page.length, bookmark: next ?? '' } } : {}),
    };
  }
  /** Newest first, as Fabric 2 returns them. */
  async getHistoryForKey(key: string) {
    return iterator([...(this.ledger.history.get(key) ?? [])].reverse());
  }
}

/** The world state, its history and the events, with one transaction id and time per invocation. */
export class MemoryLedger {
  readonly state = new Map<string, Uint8Array>();
  readonly history = new Map<string, Modification[]>();
  readonly events: ChaincodeEvent[] = [];
  /** Seconds since the epoch of the next transaction; each invocation advances it by `step`. */
  clock = Date.parse('2026-03-01T09:00:00Z') / 1000;
  step = 60;
  private counter = 0;

  /** A write: must emit exactly one event. */
  submit<T>(caller: MemoryIdentity, fn: (ctx: Context) => Promise<T>): Promise<T> {
    return this.invoke(caller, fn, 'submit');
  }

  /** A query: must write nothing and emit nothing. */
  evaluate<T>(caller: MemoryIdentity, fn: (ctx: Context) => Promise<T>): Promise<T> {
    return this.invoke(caller, fn, 'evaluate');
  }

  /** Runs `fn` as one transaction of `caller`; commits writes and events only if it resolves. */
  private async invoke<T>(caller: MemoryIdentity, fn: (ctx: Context) => Promise<T>, kind: 'submit' | 'evaluate'): Promise<T> {
    this.counter += 1;
    const txId = `tx-${String(this.counter).padStart(4, '0')}`;
    const seconds = this.clock;
    this.clock += this.step;
    const stub = new MemoryStub(this, txId, seconds);
    const ctx = new Context();
    ctx.stub = stub as unknown as Context['stub'];
    ctx.clientIdentity = caller;
    const result = await fn(ctx);
    if (kind === 'submit' && stub.events.length !== 1) throw new Error(`${txId} emitted ${stub.events.length} events, not 1`);
    if (kind === 'evaluate' && (stub.writes.size > 0 || stub.events.length > 0)) throw new Error(`${txId} is a query but wrote`);
    for (const [key, value] of stub.writes) {
      if (value === null) this.state.delete(key);
      else this.state.set(key, value);
      const versions = this.history.get(key) ?? [];
      versions.push({ txId, timestamp: { seconds, nanos: 0 }, isDelete: value === null, value: value ?? new Uint8Array(0) });
      this.history.set(key, versions);
    }
    for (const event of stub.events) {
      this.events.push({ txId, name: event.name, payload: JSON.parse(Buffer.from(event.payload).toString('utf8')) });
    }
    return result;
  }

  /** Events of the last committed transaction. */
  lastEvents(): ChaincodeEvent[] {
    const last = this.events[this.events.length - 1];
    return last ? this.events.filter((e) => e.txId === last.txId) : [];
  }

  /** Does the state hold the composite key `objectType` + `attributes`? */
  hasKey(objectType: string, attributes: string[]): boolean {
    return this.state.has(NS + objectType + NS + attributes.map((a) => a + NS).join(''));
  }
}
