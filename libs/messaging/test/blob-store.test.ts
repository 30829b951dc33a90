import { createHash } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { startNats, type NatsFixture } from '@fedledger/testing';
import { BlobCorruptedError, BlobError, BlobNotFoundError, BlobStore, JetStreamConnection, rechunk } from '../src';

const MiB = 1024 * 1024;
let nats: NatsFixture;
let connection: JetStreamConnection;
let store: BlobStore;

/** Deterministic pseudo-random bytes (xorshift), produced in pieces so 200 MB never sits in one array twice. */
function* pattern(totalBytes: number, pieceBytes: number, seed = 0x9e3779b9): Generator<Uint8Array> {
  let x = seed >>> 0;
  for (let done = 0; done < totalBytes; done += pieceBytes) {
    const piece = new Uint8Array(Math.min(pieceBytes, totalBytes - done));
    const words = new Uint32Array(piece.buffer, 0, piece.length >>> 2);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      words[i] = x;
    }
    yield piece;
  }
}

function digestOf(pieces: Iterable<Uint8Array>): string {
  const h = createHash('sha256');
  for (const p of pieces) h.update(p);
  return h.digest('hex');
}

beforeAll(async () => {
  nats = await startNats();
  connection = await JetStreamConnection.connect({ servers: nats.url, name: 'blob-test' });
  store = await BlobStore.open(connection, { stream: 'TEST_BLOBS', subjectPrefix: 'test.blobs', maxBlobBytes: 256 * MiB });
});

afterAll(async () => {
  await connection?.drain();
  await nats?.stop();
});

test('a 200 MB blob round-trips with its digest', async () => {
  const size = 200 * MiB + 12_345; // not a multiple of the chunk size
  const expected = digestOf(pattern(size, 3 * MiB + 7));
  const ref = await store.put(pattern(size, 3 * MiB + 7));
  expect(ref).toEqual({ blobId: ref.blobId, sha256: expected, sizeBytes: size });

  const read = createHash('sha256');
  let bytes = 0;
  for await (const chunk of store.get(ref)) {
    read.update(chunk);
    bytes += chunk.length;
  }
  expect(bytes).toBe(size);
  expect(read.digest('hex')).toBe(expected);
  await store.delete(ref.blobId);
}, 120_000);

test('getBytes returns the same bytes that were put', async () => {
  const data = Buffer.concat([...pattern(5 * MiB + 3, MiB, 42)]);
  const ref = await store.put(data, { blobId: 'small1' });
  expect(ref.blobId).toBe('small1');
  const back = await store.getBytes(ref);
  expect(back.equals(data)).toBe(true);
  const manifest = await store.manifest('small1');
  expect(manifest.chunks).toBe(Math.ceil((5 * MiB + 3) / (store.chunkKiB * 1024)));
});

test('an empty blob round-trips', async () => {
  const ref = await store.put(new Uint8Array(0));
  expect(ref.sha256).toBe(createHash('sha256').digest('hex'));
  expect((await store.getBytes(ref)).length).toBe(0);
});

/** Rewrites a stored blob's chunks through JetStream with one byte flipped, keeping its manifest. */
async function flipByteInStoredChunk(blobId: string, chunkIndex: number, byteIndex: number, order?: (chunks: number) => number[]): Promise<void> {
  const { chunkSubject } = await store.manifest(blobId);
  const consumer = await connection.js.consumers.get('TEST_BLOBS', { filter_subjects: [chunkSubject] });
  const chunks: { data: Uint8Array; index: string }[] = [];
  const pending = (await consumer.info()).num_pending;
  const iter = await consumer.fetch({ max_messages: pending });
  for await (const m of iter) {
    chunks.push({ data: new Uint8Array(m.data), index: m.headers?.get('Fedledger-Chunk') ?? '' });
    if (chunks.length === pending) break;
  }
  await connection.jsm.streams.purge('TEST_BLOBS', { filter: chunkSubject });
  if (chunkIndex >= 0) {
    const target = chunks[chunkIndex]!;
    target.data[byteIndex] = target.data[byteIndex]! ^ 0x01;
  }
  for (const c of (order?.(chunks.length) ?? chunks.map((_, i) => i)).map((i) => chunks[i]!)) {
    const h = natsHeaders();
    h.set('Fedledger-Chunk', c.index);
    await connection.js.publish(chunkSubject, c.data, { headers: h });
  }
}

test('a flipped byte in one stored chunk makes the read fail, naming the blob', async () => {
  const ref = await store.put(Buffer.concat([...pattern(4 * MiB, MiB, 7)]), { blobId: 'flipped1' });
  await flipByteInStoredChunk('flipped1', 2, 1000);
  const read = store.getBytes(ref);
  await expect(read).rejects.toThrow(BlobCorruptedError);
  await expect(store.getBytes(ref)).rejects.toThrow(/^blob flipped1: corrupted: sha256 [0-9a-f]{64} read, manifest says [0-9a-f]{64}$/);
});

test('chunks stored out of order (as a retried publish leaves them) still read back intact', async () => {
  const data = Buffer.concat([...pattern(3 * MiB, MiB, 11)]);
  const ref = await store.put(data, { blobId: 'shuffled1' });
  await flipByteInStoredChunk('shuffled1', -1, 0, (n) => [3, 0, 2, 1, ...Array.from({ length: n - 4 }, (_, i) => n - 1 - i)]);
  expect((await store.getBytes(ref)).equals(data)).toBe(true);
});

test('a missing chunk makes the read fail, naming the blob and the chunk', async () => {
  const ref = await store.put(Buffer.concat([...pattern(3 * MiB, MiB, 9)]), { blobId: 'holey1' });
  const first = await connection.jsm.streams.getMessage('TEST_BLOBS', { last_by_subj: (await store.manifest('holey1')).chunkSubject });
  await connection.jsm.streams.deleteMessage('TEST_BLOBS', first!.seq);
  const chunks = (await store.manifest('holey1')).chunks;
  expect(chunks).toBeGreaterThan(1);
  await expect(store.getBytes(ref)).rejects.toThrow(`blob holey1: corrupted: chunk ${chunks - 1} of ${chunks} missing`);
});

test('a reference whose digest differs from the stored blob is refused', async () => {
  const ref = await store.put(Buffer.from('weights of round 1'), { blobId: 'ref1' });
  await expect(store.getBytes({ ...ref, sha256: '0'.repeat(64) })).rejects.toThrow(`blob ref1: corrupted: reference digest ${'0'.repeat(64)} differs from the stored ${ref.sha256}`);
});

test('an unknown blob is not found; a blob id cannot be reused', async () => {
  await expect(store.getBytes('nosuchblob')).rejects.toThrow(BlobNotFoundError);
  await expect(store.getBytes('nosuchblob')).rejects.toThrow('blob nosuchblob: not found (no manifest stored)');
  await store.put(Buffer.from('x'), { blobId: 'once1' });
  await expect(store.put(Buffer.from('y'), { blobId: 'once1' })).rejects.toThrow('blob once1: already exists; blobs are immutable');
});

test('a blob over the size limit is refused and leaves nothing behind', async () => {
  const small = await BlobStore.open(connection, { stream: 'TEST_BLOBS', subjectPrefix: 'test.blobs', maxBlobBytes: 2 * MiB });
  await expect(small.put(pattern(3 * MiB, MiB), { blobId: 'big1' })).rejects.toThrow(new BlobError('big1', `larger than the ${2 * MiB} byte limit`));
  await expect(small.manifest('big1')).rejects.toThrow(BlobNotFoundError);
  const info = await connection.jsm.streams.info('TEST_BLOBS', { subjects_filter: 'test.blobs.big1.>' });
  expect(info.state.subjects ?? {}).toEqual({});
});

test('rechunk cuts any sequence of pieces into fixed-size chunks', async () => {
  const pieces = [Uint8Array.from([1, 2, 3]), Uint8Array.from([4]), Uint8Array.from([5, 6, 7, 8, 9, 10, 11])];
  const out: number[][] = [];
  for await (const c of rechunk(pieces, 4)) out.push(Array.from(c));
  expect(out).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11]]);
});
