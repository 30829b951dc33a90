import { createHash, randomBytes } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { JetStreamApiError, type PubAck, type StoredMsg } from '@nats-io/jetstream';
import type { JetStreamConnection } from './connection';
import { provisionStream } from './streams';

/** The claim check a message carries instead of the bytes. */
export interface BlobRef {
  blobId: string;
  /** Lower-case hex SHA-256 of the whole blob. */
  sha256: string;
  /** Exact size in bytes (named as in the protobuf BlobRef, so the two are the same shape). */
  sizeBytes: number;
}

/** Stored last, after every chunk: a blob without a manifest does not exist. */
export interface BlobManifest extends BlobRef {
  chunks: number;
  /** Lowest stream sequence of the blob's chunks; reads start there. */
  firstSeq: number;
  /** The subject this blob's chunks were written to (one per put attempt). */
  chunkSubject: string;
  chunkBytes: number;
  createdAt: string;
  contentType?: string;
}

export interface BlobStoreOptions {
  stream: string;
  /** Chunks go to `<prefix>.<blobId>.c`, the manifest to `<prefix>.<blobId>.m`. */
  subjectPrefix: string;
  /**
   * Default 256 KiB, lowered to fit the server's max_payload. nats.js reassembles a large incoming
   * message by growing a buffer, so reads are fastest with chunks well below 1 MiB (docs/benchmarks.md).
   */
  chunkBytes?: number;
  /** Largest blob accepted by put and get. Default 2 GiB. */
  maxBlobBytes?: number;
  /**
   * Bytes of chunk publishes awaiting their ack at once. Default 8 MiB: the server queues at most
   * 128 MiB per stream before it answers "too many requests", and every writer shares that.
   */
  windowBytes?: number;
  /** Drop blobs older than this (ms). Default: keep. */
  maxAgeMs?: number;
  replicas?: number;
}

export class BlobError extends Error {
  constructor(
    readonly blobId: string,
    message: string,
    /** The server pushed back (too many requests, timeout): trying again later can succeed. */
    readonly retriable = false,
  ) {
    super(`blob ${blobId}: ${message}`);
    this.name = 'BlobError';
  }
}
export class BlobNotFoundError extends BlobError {
  constructor(blobId: string) {
    super(blobId, 'not found (no manifest stored)');
    this.name = 'BlobNotFoundError';
  }
}
export class BlobCorruptedError extends BlobError {
  constructor(blobId: string, detail: string) {
    super(blobId, `corrupted: ${detail}`);
    this.name = 'BlobCorruptedError';
  }
}

const CHUNK_HEADER = 'Fedledger-Chunk';
const MiB = 1024 * 1024;
const HEADER_ROOM = 1024;
/** Bytes asked for in one direct batch get while reading a blob. */
const READ_BATCH_BYTES = 16 * MiB;

export type BlobSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Model weights over JetStream, chunked: streaming put and get, SHA-256 computed on write and
 * verified on read, a missing or altered chunk reported with the blob's id. One stream holds all
 * blobs; a blob is immutable once its manifest is stored.
 */
export class BlobStore {
  private readonly chunkBytes: number;
  private readonly maxBlobBytes: number;
  private readonly window: number;

  private constructor(
    private readonly connection: JetStreamConnection,
    private readonly options: BlobStoreOptions,
  ) {
    this.chunkBytes = Math.min(options.chunkBytes ?? 256 * 1024, connection.maxPayload - HEADER_ROOM);
    this.maxBlobBytes = options.maxBlobBytes ?? 2 * 1024 * MiB;
    this.window = Math.max(1, Math.ceil((options.windowBytes ?? 8 * MiB) / this.chunkBytes));
    if (this.chunkBytes <= 0) throw new Error(`blob store ${options.stream}: chunk size must be positive`);
  }

  get chunkKiB(): number {
    return this.chunkBytes / 1024;
  }

  static async open(connection: JetStreamConnection, options: BlobStoreOptions): Promise<BlobStore> {
    await provisionStream(connection.jsm, {
      name: options.stream,
      subjects: [`${options.subjectPrefix}.>`],
      allowDirect: true,
      maxAgeMs: options.maxAgeMs ?? 0,
      replicas: options.replicas ?? 1,
    });
    return new BlobStore(connection, options);
  }

  /** Stores the bytes under a new id (or `blobId`) and returns the reference with its digest. */
  async put(source: BlobSource, opts: { blobId?: string; contentType?: string } = {}): Promise<BlobRef> {
    const blobId = opts.blobId ?? randomBytes(16).toString('base64url').replace(/[-_]/g, 'x');
    if (!/^[A-Za-z0-9]+$/.test(blobId)) throw new BlobError(blobId, 'id must be letters and digits only');
    if (opts.blobId && (await this.manifest(blobId).catch(() => undefined))) throw new BlobError(blobId, 'already exists; blobs are immutable');
    // Chunks must be stored in order, so a refused chunk cannot be retried alone: the whole put is
    // retried (on a fresh chunk subject) when the server pushes back, if the bytes can be read again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.putAttempt(blobId, source, opts.contentType);
      } catch (err) {
        const pushedBack = err instanceof BlobError && err.retriable;
        if (!pushedBack || !(source instanceof Uint8Array) || attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt + Math.random() * 100));
      }
    }
  }

  private async putAttempt(blobId: string, source: BlobSource, contentType: string | undefined): Promise<BlobRef> {
    // Each attempt writes its own chunk subject: chunks of an attempt that failed (or whose late
    // publishes land after its clean-up) can never mix with a retry's.
    const attempt = randomBytes(6).toString('hex');
    const chunkSubject = `${this.chunkSubject(blobId)}.${attempt}`;
    const hash = createHash('sha256');
    const acks: Promise<PubAck>[] = [];
    let size = 0;
    let chunks = 0;
    let firstSeq = 0;
    try {
      for await (const chunk of rechunk(source, this.chunkBytes)) {
        size += chunk.length;
        if (size > this.maxBlobBytes) throw new BlobError(blobId, `larger than the ${this.maxBlobBytes} byte limit`);
        hash.update(chunk);
        const h = natsHeaders();
        h.set(CHUNK_HEADER, String(chunks));
        const ack = this.connection.js.publish(chunkSubject, chunk, { headers: h, msgID: `${blobId}.${attempt}.${chunks}` });
        // Observed now so a failure while earlier acks are awaited is not an unhandled rejection.
        ack.catch(() => undefined);
        // Reads start at the lowest sequence any chunk got (a retried publish can store chunk 0 late).
        void ack.then((a) => (firstSeq = firstSeq === 0 ? a.seq : Math.min(firstSeq, a.seq)), () => undefined);
        acks.push(ack);
        chunks++;
        if (acks.length >= this.window) await acks.shift();
      }
      await Promise.all(acks);
      const manifest: BlobManifest = {
        blobId,
        sha256: hash.digest('hex'),
        sizeBytes: size,
        chunks,
        firstSeq,
        chunkSubject,
        chunkBytes: this.chunkBytes,
        createdAt: new Date().toISOString(),
        ...(contentType ? { contentType } : {}),
      };
      await this.connection.js.publish(this.manifestSubject(blobId), Buffer.from(JSON.stringify(manifest)), { msgID: `${blobId}.m` });
      return { blobId, sha256: manifest.sha256, sizeBytes: size };
    } catch (err) {
      await Promise.allSettled(acks);
      await this.connection.jsm.streams.purge(this.options.stream, { filter: chunkSubject }).catch(() => undefined);
      if (err instanceof BlobError) throw err;
      const pushedBack = (err instanceof JetStreamApiError && err.status === 429) || /too many requests|timeout/i.test((err as Error).message);
      throw new BlobError(blobId, `put failed after ${size} bytes: ${(err as Error).message}`, pushedBack);
    }
  }

  /**
   * Stores the bytes under `blobId` unless a blob with that id exists, and returns its reference
   * either way. With ids derived from the fact (task, round), a step retried after a crash finds
   * what it stored before instead of storing it twice.
   */
  async putOnce(blobId: string, bytes: Uint8Array): Promise<BlobRef> {
    try {
      const m = await this.manifest(blobId);
      return { blobId, sha256: m.sha256, sizeBytes: m.sizeBytes };
    } catch (err) {
      if (!(err instanceof BlobNotFoundError)) throw err;
    }
    return this.put(bytes, { blobId });
  }

  /** The manifest, or BlobNotFoundError. */
  async manifest(blobId: string): Promise<BlobManifest> {
    try {
      const m = await this.connection.jsm.streams.getMessage(this.options.stream, { last_by_subj: this.manifestSubject(blobId) });
      if (!m) throw new BlobNotFoundError(blobId);
      return m.json<BlobManifest>();
    } catch (err) {
      if (err instanceof JetStreamApiError && err.status === 404) throw new BlobNotFoundError(blobId);
      throw err;
    }
  }

  /**
   * Streams the blob's chunks in order. The digest is checked as the last chunk arrives, so a
   * consumer must not act on the data before the iteration ends without an error.
   */
  async *get(ref: BlobRef | string): AsyncGenerator<Uint8Array> {
    const blobId = typeof ref === 'string' ? ref : ref.blobId;
    const manifest = await this.manifest(blobId);
    if (typeof ref !== 'string') {
      if (ref.sha256 !== manifest.sha256) throw new BlobCorruptedError(blobId, `reference digest ${ref.sha256} differs from the stored ${manifest.sha256}`);
      if (ref.sizeBytes !== manifest.sizeBytes) throw new BlobCorruptedError(blobId, `reference size ${ref.sizeBytes} differs from the stored ${manifest.sizeBytes}`);
    }
    if (manifest.sizeBytes > this.maxBlobBytes) throw new BlobError(blobId, `size ${manifest.sizeBytes} exceeds the ${this.maxBlobBytes} byte limit`);
    let size = 0;
    let next = 0;
    if (manifest.chunks > 0) {
      const hash = createHash('sha256');
      // Direct batch gets from chunk 0's sequence: no consumer to create, one request per batch.
      const subject = manifest.chunkSubject;
      const batchChunks = Math.max(1, Math.floor(READ_BATCH_BYTES / manifest.chunkBytes));
      // Chunks are read in stream order, which a client-side publish retry can make differ from
      // chunk order; early ones wait here (bounded) until their turn.
      const early = new Map<number, Uint8Array>();
      const maxEarly = Math.max(64, 2 * batchChunks);
      let seq = manifest.firstSeq;
      let emptyAnswers = 0;
      const take = (data: Uint8Array) => {
        hash.update(data);
        size += data.length;
        next++;
        if (next === manifest.chunks) {
          const digest = hash.digest('hex');
          if (size !== manifest.sizeBytes) throw new BlobCorruptedError(blobId, `${size} bytes read, manifest says ${manifest.sizeBytes}`);
          if (digest !== manifest.sha256) throw new BlobCorruptedError(blobId, `sha256 ${digest} read, manifest says ${manifest.sha256}`);
        }
        return data;
      };
      while (next < manifest.chunks) {
        let got = 0;
        for await (const m of await this.directBatch(seq, batchChunks, subject)) {
          seq = m.seq + 1;
          got++;
          const index = Number(m.header?.get(CHUNK_HEADER));
          if (!Number.isInteger(index) || index < next || index >= manifest.chunks || early.has(index)) {
            throw new BlobCorruptedError(blobId, `unexpected ${Number.isNaN(index) ? 'message without chunk index' : `chunk ${index}`} while reading chunk ${next} of ${manifest.chunks}`);
          }
          if (index !== next) {
            if (early.size >= maxEarly) throw new BlobCorruptedError(blobId, `chunk ${next} of ${manifest.chunks} missing`);
            early.set(index, m.data);
            continue;
          }
          yield take(m.data);
          for (let d = early.get(next); d !== undefined; d = early.get(next)) {
            early.delete(next);
            yield take(d);
          }
          if (next === manifest.chunks) break;
        }
        if (got === 0 && next < manifest.chunks) {
          // An empty answer under load is not proof of loss: ask the stream how many chunks it holds.
          const info = await this.connection.jsm.streams.info(this.options.stream, { subjects_filter: subject });
          const stored = info.state.subjects?.[subject] ?? 0;
          if (stored >= manifest.chunks && emptyAnswers++ < 3) {
            await new Promise((r) => setTimeout(r, 200 * emptyAnswers));
            continue;
          }
          const which = next === manifest.chunks - 1 ? `chunk ${next}` : `chunk ${next} and later ones`;
          throw new BlobCorruptedError(blobId, `${which} of ${manifest.chunks} missing`);
        }
      }
      if (next !== manifest.chunks) throw new BlobCorruptedError(blobId, `stream ended after chunk ${next - 1} of ${manifest.chunks}`);
    } else if (createHash('sha256').digest('hex') !== manifest.sha256) {
      throw new BlobCorruptedError(blobId, 'empty blob with a non-empty digest');
    }
  }

  /** Up to `batch` chunk messages from `seq` on; none when nothing is stored there (the server answers 404). */
  private async directBatch(seq: number, batch: number, subject: string): Promise<AsyncIterable<StoredMsg>> {
    const isNotFound = (err: unknown) => (err instanceof JetStreamApiError && err.status === 404) || (err instanceof Error && /message not found/i.test(err.message));
    try {
      const iter = await this.connection.jsm.direct.getBatch(this.options.stream, { seq, batch, next_by_subj: subject });
      return (async function* () {
        try {
          for await (const m of iter) yield m;
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      })();
    } catch (err) {
      if (isNotFound(err)) return (async function* (): AsyncGenerator<StoredMsg> {})();
      throw err;
    }
  }

  /** The whole blob in one buffer (one copy), digest verified. */
  async getBytes(ref: BlobRef | string): Promise<Buffer> {
    const blobId = typeof ref === 'string' ? ref : ref.blobId;
    const size = typeof ref === 'string' ? (await this.manifest(ref)).sizeBytes : ref.sizeBytes;
    const out = Buffer.allocUnsafe(size);
    let offset = 0;
    for await (const chunk of this.get(ref)) {
      if (offset + chunk.length > size) throw new BlobCorruptedError(blobId, `more than the expected ${size} bytes`);
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  async delete(blobId: string): Promise<void> {
    await this.connection.jsm.streams.purge(this.options.stream, { filter: `${this.options.subjectPrefix}.${blobId}.>` });
  }

  private chunkSubject(blobId: string): string {
    return `${this.options.subjectPrefix}.${blobId}.c`;
  }

  private manifestSubject(blobId: string): string {
    return `${this.options.subjectPrefix}.${blobId}.m`;
  }
}

/** Cuts any byte source into pieces of exactly `size` bytes (the last may be shorter). */
export async function* rechunk(source: BlobSource, size: number): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    for (let o = 0; o < source.length; o += size) yield source.subarray(o, Math.min(o + size, source.length));
    return;
  }
  // Each emitted chunk is its own allocation: the client may still hold one while we fill the next.
  let buf = Buffer.allocUnsafe(size);
  let used = 0;
  for await (const piece of source as AsyncIterable<Uint8Array>) {
    let o = 0;
    while (o < piece.length) {
      if (used === 0 && piece.length - o >= size) {
        yield piece.subarray(o, o + size);
        o += size;
        continue;
      }
      const n = Math.min(size - used, piece.length - o);
      buf.set(piece.subarray(o, o + n), used);
      used += n;
      o += n;
      if (used === size) {
        yield buf;
        buf = Buffer.allocUnsafe(size);
        used = 0;
      }
    }
  }
  if (used > 0) yield buf.subarray(0, used);
}

