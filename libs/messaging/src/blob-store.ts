import { createHash, randomBytes } from 'node:crypto';
import { JetStreamApiError, type PubAck, type StoredMsg } from '@nats-io/jetstream';
import { lazyInstruments } from '@fedledger/telemetry';
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
  /** Chunk i of this blob is the message on `<chunkSubject>.<i>` (one chunk subject per put attempt). */
  chunkSubject: string;
  chunkBytes: number;
  createdAt: string;
  contentType?: string;
}

export interface BlobStoreOptions {
  stream: string;
  /** Blob subjects are `<prefix>.<scope>.<key>.m` (the manifest) and `<prefix>.<scope>.<key>.c.<attempt>.<i>` (chunk i). */
  subjectPrefix: string;
  /**
   * The scope this store writes into: a blob's id is `<scope>.<key>`. NATS permissions let a principal publish
   * only under its own scope (`subjects.blobScope`), so an id says who wrote the blob.
   */
  scope: string;
  /** Create or update the stream on open (default). A centre may not: it only uses the stream the services made. */
  provision?: boolean;
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

/** Weights bytes through the blob store, by direction (`put`, `get`): what a federation moves. */
const blobBytes = lazyInstruments('@fedledger/messaging', (meter) => meter.createCounter('fedledger.blob.bytes', { unit: 'By', description: 'weights bytes written to and read from the blob store' }));

const MiB = 1024 * 1024;
const HEADER_ROOM = 1024;
/** Bytes of chunk reads in flight at once while reading a blob. */
const READ_WINDOW_BYTES = 16 * MiB;
const SCOPE = /^[A-Za-z0-9_-]{1,140}$/;
const KEY = /^[A-Za-z0-9]{1,128}$/;

export type BlobSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Splits `<scope>.<key>`; throws BlobError naming the id when it is not one. */
export function parseBlobId(blobId: string): { scope: string; key: string } {
  const [scope, key, ...rest] = typeof blobId === 'string' ? blobId.split('.') : [];
  if (scope === undefined || key === undefined || rest.length > 0 || !SCOPE.test(scope) || !KEY.test(key)) {
    throw new BlobError(String(blobId), "not a blob id: expected <scope>.<key> (scope: letters, digits, '_' or '-'; key: letters and digits)");
  }
  return { scope, key };
}

const isNotFound = (err: unknown) => (err instanceof JetStreamApiError && err.status === 404) || (err instanceof Error && /message not found|no message found/i.test(err.message));

/**
 * Model weights over JetStream, chunked: streaming put and get, SHA-256 computed on write and
 * verified on read, a missing or altered chunk reported with the blob's id. One stream holds all
 * blobs; a blob is immutable once its manifest is stored. Every read names its subject (a direct get of
 * the manifest, then of each chunk), so reading needs the blob's id and nothing more: no consumer, no read
 * by sequence — which NATS permissions deny centres, so that a blob cannot be found without its reference.
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
    if (!SCOPE.test(options.scope)) throw new Error(`blob store ${options.stream}: invalid scope '${options.scope}'`);
  }

  get chunkKiB(): number {
    return this.chunkBytes / 1024;
  }

  /** Largest blob put and get accept. */
  get maxBytes(): number {
    return this.maxBlobBytes;
  }

  /** The scope this store writes into. */
  get scope(): string {
    return this.options.scope;
  }

  static async open(connection: JetStreamConnection, options: BlobStoreOptions): Promise<BlobStore> {
    if (options.provision ?? true) {
      await provisionStream(connection.jsm, {
        name: options.stream,
        subjects: [`${options.subjectPrefix}.>`],
        allowDirect: true,
        maxAgeMs: options.maxAgeMs ?? 0,
        replicas: options.replicas ?? connection.replicas,
      });
    }
    return new BlobStore(connection, options);
  }

  /** Stores the bytes under a new key (or `key`) in this store's scope and returns the reference with its digest. */
  async put(source: BlobSource, opts: { key?: string; contentType?: string } = {}): Promise<BlobRef> {
    const key = opts.key ?? randomBytes(16).toString('base64url').replace(/[-_]/g, 'x');
    const blobId = `${this.options.scope}.${key}`;
    if (!KEY.test(key)) throw new BlobError(blobId, 'key must be 1..128 letters and digits');
    if (opts.key && (await this.manifest(blobId).catch(() => undefined))) throw new BlobError(blobId, 'already exists; blobs are immutable');
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
    // Each attempt writes its own chunk subjects: chunks of an attempt that failed (or whose late
    // publishes land after its clean-up) can never mix with a retry's.
    const attempt = randomBytes(6).toString('hex');
    const chunkSubject = `${this.subjectOf(blobId)}.c.${attempt}`;
    const hash = createHash('sha256');
    const acks: Promise<PubAck>[] = [];
    let size = 0;
    let chunks = 0;
    try {
      for await (const chunk of rechunk(source, this.chunkBytes)) {
        size += chunk.length;
        if (size > this.maxBlobBytes) throw new BlobError(blobId, `larger than the ${this.maxBlobBytes} byte limit`);
        hash.update(chunk);
        const ack = this.connection.js.publish(`${chunkSubject}.${chunks}`, chunk, { msgID: `${blobId}.${attempt}.${chunks}` });
        // Observed now so a failure while earlier acks are awaited is not an unhandled rejection.
        ack.catch(() => undefined);
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
        chunkSubject,
        chunkBytes: this.chunkBytes,
        createdAt: new Date().toISOString(),
        ...(contentType ? { contentType } : {}),
      };
      await this.connection.js.publish(this.manifestSubject(blobId), Buffer.from(JSON.stringify(manifest)), { msgID: `${blobId}.m` });
      blobBytes().add(size, { direction: 'put' });
      return { blobId, sha256: manifest.sha256, sizeBytes: size };
    } catch (err) {
      await Promise.allSettled(acks);
      // Best effort: a principal without purge rights (a centre) leaves the orphan chunks to the stream's age limit.
      await this.connection.jsm.streams.purge(this.options.stream, { filter: `${chunkSubject}.>` }).catch(() => undefined);
      if (err instanceof BlobError) throw err;
      const pushedBack = (err instanceof JetStreamApiError && err.status === 429) || /too many requests|timeout/i.test((err as Error).message);
      throw new BlobError(blobId, `put failed after ${size} bytes: ${(err as Error).message}`, pushedBack);
    }
  }

  /**
   * Stores the bytes under `key` unless this scope holds a blob with that key, and returns its reference
   * either way. With keys derived from the fact (task, round), a step retried after a crash finds
   * what it stored before instead of storing it twice.
   */
  async putOnce(key: string, bytes: Uint8Array): Promise<BlobRef> {
    const blobId = `${this.options.scope}.${key}`;
    try {
      const m = await this.manifest(blobId);
      return { blobId, sha256: m.sha256, sizeBytes: m.sizeBytes };
    } catch (err) {
      if (!(err instanceof BlobNotFoundError)) throw err;
    }
    return this.put(bytes, { key });
  }

  /** The manifest, or BlobNotFoundError. */
  async manifest(blobId: string): Promise<BlobManifest> {
    const subject = this.manifestSubject(blobId);
    let m: StoredMsg | null;
    try {
      m = await this.connection.jsm.direct.getMessage(this.options.stream, { last_by_subj: subject });
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(blobId);
      throw new BlobError(blobId, `cannot read the manifest: ${(err as Error).message}`);
    }
    if (!m) throw new BlobNotFoundError(blobId);
    const manifest = m.json<BlobManifest>();
    const prefix = `${this.subjectOf(blobId)}.c.`;
    if (manifest.blobId !== blobId || typeof manifest.chunkSubject !== 'string' || !manifest.chunkSubject.startsWith(prefix) || !Number.isSafeInteger(manifest.chunks) || manifest.chunks < 0) {
      throw new BlobCorruptedError(blobId, 'the manifest does not describe this blob');
    }
    return manifest;
  }

  /**
   * Streams the blob's chunks in order. The digest is checked as the last chunk arrives, so a
   * consumer must not act on the data before the iteration ends without an error.
   */
  async *get(ref: BlobRef | string): AsyncGenerator<Uint8Array> {
    yield* this.chunks(await this.readableManifest(ref));
  }

  /** The manifest of the blob `ref` names, once it matches the reference and is within this store's limit. */
  private async readableManifest(ref: BlobRef | string): Promise<BlobManifest> {
    const blobId = typeof ref === 'string' ? ref : ref.blobId;
    const manifest = await this.manifest(blobId);
    if (typeof ref !== 'string') {
      if (ref.sha256 !== manifest.sha256) throw new BlobCorruptedError(blobId, `reference digest ${ref.sha256} differs from the stored ${manifest.sha256}`);
      if (ref.sizeBytes !== manifest.sizeBytes) throw new BlobCorruptedError(blobId, `reference size ${ref.sizeBytes} differs from the stored ${manifest.sizeBytes}`);
    }
    if (manifest.sizeBytes > this.maxBlobBytes) throw new BlobError(blobId, `size ${manifest.sizeBytes} exceeds the ${this.maxBlobBytes} byte limit`);
    return manifest;
  }

  private async *chunks(manifest: BlobManifest): AsyncGenerator<Uint8Array> {
    const blobId = manifest.blobId;
    const hash = createHash('sha256');
    let size = 0;
    // A window of direct gets in flight, each naming its chunk's subject; yielded in chunk order.
    const inFlight = Math.max(1, Math.floor(READ_WINDOW_BYTES / Math.max(1, manifest.chunkBytes)));
    const pending: Promise<Uint8Array>[] = [];
    let requested = 0;
    const request = () => {
      const p = this.readChunk(blobId, manifest, requested++);
      p.catch(() => undefined);
      pending.push(p);
    };
    try {
      while (requested < Math.min(inFlight, manifest.chunks)) request();
      for (let i = 0; i < manifest.chunks; i++) {
        const data = await pending.shift()!;
        if (requested < manifest.chunks) request();
        hash.update(data);
        size += data.length;
        if (size > manifest.sizeBytes) throw new BlobCorruptedError(blobId, `more than the manifest's ${manifest.sizeBytes} bytes by chunk ${i}`);
        if (i === manifest.chunks - 1) this.checkDigest(blobId, manifest, size, hash.digest('hex'));
        blobBytes().add(data.length, { direction: 'get' });
        yield data;
      }
      if (manifest.chunks === 0) this.checkDigest(blobId, manifest, 0, hash.digest('hex'));
    } finally {
      await Promise.allSettled(pending);
    }
  }

  private checkDigest(blobId: string, manifest: BlobManifest, size: number, digest: string): void {
    if (size !== manifest.sizeBytes) throw new BlobCorruptedError(blobId, `${size} bytes read, manifest says ${manifest.sizeBytes}`);
    if (digest !== manifest.sha256) throw new BlobCorruptedError(blobId, `sha256 ${digest} read, manifest says ${manifest.sha256}`);
  }

  /** Chunk `index` by its subject; a timeout under load is asked again, a missing chunk is corruption. */
  private async readChunk(blobId: string, manifest: BlobManifest, index: number): Promise<Uint8Array> {
    const subject = `${manifest.chunkSubject}.${index}`;
    for (let attempt = 1; ; attempt++) {
      try {
        const m = await this.connection.jsm.direct.getMessage(this.options.stream, { last_by_subj: subject });
        if (!m) throw new BlobCorruptedError(blobId, `chunk ${index} of ${manifest.chunks} missing`);
        return m.data;
      } catch (err) {
        if (err instanceof BlobCorruptedError) throw err;
        if (isNotFound(err)) throw new BlobCorruptedError(blobId, `chunk ${index} of ${manifest.chunks} missing`);
        if (attempt >= 3 || !/timeout|too many requests/i.test((err as Error).message)) {
          throw new BlobError(blobId, `cannot read chunk ${index} of ${manifest.chunks}: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  /** The whole blob in one buffer (one copy), digest verified. */
  async getBytes(ref: BlobRef | string): Promise<Buffer> {
    // The size comes from the stored manifest, checked against the reference and the limit, before anything is
    // allocated: a reference claiming gigabytes allocates nothing.
    const manifest = await this.readableManifest(ref);
    const size = manifest.sizeBytes;
    const out = Buffer.allocUnsafe(size);
    let offset = 0;
    for await (const chunk of this.chunks(manifest)) {
      if (offset + chunk.length > size) throw new BlobCorruptedError(manifest.blobId, `more than the expected ${size} bytes`);
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  async delete(blobId: string): Promise<void> {
    await this.connection.jsm.streams.purge(this.options.stream, { filter: `${this.subjectOf(blobId)}.>` });
  }

  /** `<prefix>.<scope>.<key>`; the id is checked first, so it can never widen a subject. */
  private subjectOf(blobId: string): string {
    const { scope, key } = parseBlobId(blobId);
    return `${this.options.subjectPrefix}.${scope}.${key}`;
  }

  private manifestSubject(blobId: string): string {
    return `${this.subjectOf(blobId)}.m`;
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

