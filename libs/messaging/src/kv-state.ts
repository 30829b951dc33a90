import { Kvm, type KV } from '@nats-io/kv';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { JetStreamConnection } from './connection';
import { kvBuckets } from '@fedledger/contracts';
import type { MessageCodec } from './codec';

export interface KvStateOptions<T> {
  bucket: string;
  codec: MessageCodec<T>;
  /** Revisions kept per key. Default 5. */
  history?: number;
  replicas?: number;
  /** Give up after this many lost compare-and-set races. Default 20. */
  maxAttempts?: number;
  /** Entries older than this are dropped (the bucket's max age); default: kept. */
  ttlMs?: number;
}

export interface Versioned<T> {
  value: T;
  revision: number;
}

/** Thrown by a mutation to leave the stored value as it is. */
export class NoChange extends Error {
  constructor() {
    super('no change');
  }
}

/**
 * State in a JetStream KV bucket, changed only by compare-and-set: `update` reads the value and its
 * revision, applies a pure mutation and writes it back only if nobody wrote in between, retrying
 * on a lost race. State machines (rounds, experiments) live on this.
 */
export class KvState<T> {
  private constructor(
    private readonly kv: KV,
    private readonly options: KvStateOptions<T>,
  ) {}

  static async open<T>(connection: JetStreamConnection, options: KvStateOptions<T>): Promise<KvState<T>> {
    const kv = await new Kvm(connection.js).create(options.bucket, {
      history: options.history ?? 5,
      replicas: options.replicas ?? connection.replicas,
      ...(options.ttlMs ? { ttl: options.ttlMs } : {}),
    });
    return new KvState(kv, options);
  }

  /** A bucket another service provisions, for reading (no stream rights needed beyond its info). */
  static async bind<T>(connection: JetStreamConnection, options: KvStateOptions<T>): Promise<KvState<T>> {
    return new KvState(await new Kvm(connection.js).open(options.bucket), options);
  }

  async get(key: string): Promise<Versioned<T> | undefined> {
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') return undefined;
    return { value: this.decode(key, entry.value), revision: entry.revision };
  }

  /** Writes the value only if the key does not exist; returns undefined when it already does. */
  async create(key: string, value: T): Promise<Versioned<T> | undefined> {
    try {
      const revision = await this.kv.create(key, this.options.codec.encode(value));
      return { value, revision };
    } catch (err) {
      if (isWrongLastSequence(err)) return undefined;
      throw err;
    }
  }

  /**
   * Applies `mutate` to the current value (undefined if none) and stores the result with
   * compare-and-set. The mutation may run several times under contention, so it must be pure.
   * Throw `NoChange` from it to leave the value alone.
   */
  async update(key: string, mutate: (current: T | undefined) => T): Promise<Versioned<T>> {
    const maxAttempts = this.options.maxAttempts ?? 20;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const current = await this.get(key);
      let next: T;
      try {
        next = mutate(current?.value);
      } catch (err) {
        if (err instanceof NoChange && current) return current;
        throw err;
      }
      const bytes = this.options.codec.encode(next);
      try {
        const revision = current
          ? await this.kv.update(key, bytes, current.revision)
          : await this.kv.create(key, bytes);
        return { value: next, revision };
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
        // Someone else wrote first: read again and re-apply.
      }
    }
    throw new Error(`${this.options.bucket}/${key}: gave up after ${maxAttempts} compare-and-set conflicts`);
  }

  async delete(key: string): Promise<void> {
    await this.kv.delete(key);
  }

  async keys(filter = '>'): Promise<string[]> {
    const out: string[] = [];
    for await (const k of await this.kv.keys(filter)) out.push(k);
    return out;
  }

  private decode(key: string, bytes: Uint8Array): T {
    try {
      return this.options.codec.decode(bytes);
    } catch (err) {
      throw new Error(`${this.options.bucket}/${key}: stored value is not a ${this.options.codec.typeName}: ${(err as Error).message}`);
    }
  }
}

function isWrongLastSequence(err: unknown): boolean {
  // 10071: wrong last sequence; create() of an existing key reports it too.
  if (err instanceof JetStreamApiError && err.code === 10071) return true;
  return err instanceof Error && /wrong last sequence|key exists/i.test(err.message);
}

/** A JSON codec for KV values that are plain records. */
export function jsonCodec<T>(typeName: string): MessageCodec<T> {
  return {
    typeName,
    encode: (v) => Buffer.from(JSON.stringify(v)),
    decode: (b) => JSON.parse(Buffer.from(b).toString('utf8')) as T,
  };
}

/**
 * The ledger's trace links: transaction id → the W3C trace context of the span that submitted it (the
 * passport-registry writes them, the ledger-indexer reads them to join that trace).
 */
export const LEDGER_TRACE_LINKS: KvStateOptions<Record<string, string>> = { bucket: kvBuckets.ledgerTraces, codec: jsonCodec<Record<string, string>>('LedgerTraceLink') };
