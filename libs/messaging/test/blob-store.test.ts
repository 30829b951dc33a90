import { createHash } from 'node:crypto';
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
  store = await BlobStore.open(connection, { stream: 'TEST_BLOBS', subjectPrefix: 'test.blobs', scope: 'tester', maxBlobBytes: 256 * MiB });
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
  const ref = await store.put(data, { key: 'small1' });
  expect(ref.blobId).toBe('tester.small1');
  const back = await store.getBytes(ref);
  expect(back.equals(data)).toBe(true);
  const manifest = await store.manifest('tester.small1');
  expect(manifest.chunks).toBe(Math.ceil((5 * MiB + 3) / (store.chunkKiB * 1024)));
});

test('an empty blob round-trips', async () => {
  const ref = await store.put(new Uint8Array(0));
  expect(ref.sha256).toBe(createHash('sha256').digest('hex'));
  expect((await store.getBytes(ref)).length).toBe(0);
});

/** Rewrites one stored chunk of a blob through JetStream with one byte flipped, keeping its manifest. */
async function flipByteInStoredChunk(blobId: string, chunkIndex: number, byteIndex: number): Promise<void> {
  const { chunkSubject } = await store.manifest(blobId);
  const subject = `${chunkSubject}.${chunkIndex}`;
  const stored = await connection.jsm.streams.getMessage('TEST_BLOBS', { last_by_subj: subject });
  const data = new Uint8Array(stored!.data);
  data[byteIndex] = data[byteIndex]! ^ 0x01;
  await connection.js.publish(subject, data);
}

test('a flipped byte in one stored chunk makes the read fail, naming the blob', async () => {
  const ref = await store.put(Buffer.concat([...pattern(4 * MiB, MiB, 7)]), { key: 'flipped1' });
  await flipByteInStoredChunk('tester.flipped1', 2, 1000);
  const read = store.getBytes(ref);
  await expect(read).rejects.toThrow(BlobCorruptedError);
  await expect(store.getBytes(ref)).rejects.toThrow(/^blob tester\.flipped1: corrupted: sha256 [0-9a-f]{64} read, manifest says [0-9a-f]{64}$/);
});

test('a missing chunk makes the read fail, naming the blob and the chunk', async () => {
  const ref = await store.put(Buffer.concat([...pattern(3 * MiB, MiB, 9)]), { key: 'holey1' });
  const manifest = await store.manifest('tester.holey1');
  expect(manifest.chunks).toBeGreaterThan(2);
  const second = await connection.jsm.streams.getMessage('TEST_BLOBS', { last_by_subj: `${manifest.chunkSubject}.1` });
  await connection.jsm.streams.deleteMessage('TEST_BLOBS', second!.seq);
  await expect(store.getBytes(ref)).rejects.toThrow(`blob tester.holey1: corrupted: chunk 1 of ${manifest.chunks} missing`);
});

test('a manifest pointing at chunks outside its own blob is refused', async () => {
  const victim = await store.put(Buffer.from('somebody else\'s weights'), { key: 'victim1' });
  const forger = await BlobStore.open(connection, { stream: 'TEST_BLOBS', subjectPrefix: 'test.blobs', scope: 'forger' });
  const { chunkSubject, ...rest } = await store.manifest(victim.blobId);
  await connection.js.publish('test.blobs.forger.copy1.m', JSON.stringify({ ...rest, blobId: 'forger.copy1', chunkSubject }));
  await expect(forger.getBytes('forger.copy1')).rejects.toThrow('blob forger.copy1: corrupted: the manifest does not describe this blob');
});

test('a reference whose digest differs from the stored blob is refused', async () => {
  const ref = await store.put(Buffer.from('weights of round 1'), { key: 'ref1' });
  await expect(store.getBytes({ ...ref, sha256: '0'.repeat(64) })).rejects.toThrow(`blob tester.ref1: corrupted: reference digest ${'0'.repeat(64)} differs from the stored ${ref.sha256}`);
});

test('an unknown blob is not found; a blob id cannot be reused; an id that is not <scope>.<key> is refused', async () => {
  await expect(store.getBytes('tester.nosuchblob')).rejects.toThrow(BlobNotFoundError);
  await expect(store.getBytes('tester.nosuchblob')).rejects.toThrow('blob tester.nosuchblob: not found (no manifest stored)');
  await store.put(Buffer.from('x'), { key: 'once1' });
  await expect(store.put(Buffer.from('y'), { key: 'once1' })).rejects.toThrow('blob tester.once1: already exists; blobs are immutable');
  for (const bad of ['nosuchblob', 'a.b.c', 'tester.>', '*.x', 'tester.']) {
    await expect(store.getBytes(bad)).rejects.toThrow(`blob ${bad}: not a blob id: expected <scope>.<key>`);
  }
});

test('a blob over the size limit is refused and leaves nothing behind', async () => {
  const small = await BlobStore.open(connection, { stream: 'TEST_BLOBS', subjectPrefix: 'test.blobs', scope: 'tester', maxBlobBytes: 2 * MiB });
  await expect(small.put(pattern(3 * MiB, MiB), { key: 'big1' })).rejects.toThrow(new BlobError('tester.big1', `larger than the ${2 * MiB} byte limit`));
  await expect(small.manifest('tester.big1')).rejects.toThrow(BlobNotFoundError);
  const info = await connection.jsm.streams.info('TEST_BLOBS', { subjects_filter: 'test.blobs.tester.big1.>' });
  expect(info.state.subjects ?? {}).toEqual({});
});

test('a reference claiming another size is refused before anything is allocated, naming both sizes', async () => {
  const ref = await store.put(Buffer.from('small blob'));
  for (const sizeBytes of [2 ** 40, 2 ** 53, 11]) {
    await expect(store.getBytes({ ...ref, sizeBytes })).rejects.toThrow(new BlobCorruptedError(ref.blobId, `reference size ${sizeBytes} differs from the stored 10`));
  }
  const small = await BlobStore.open(connection, { stream: 'TEST_BLOBS', subjectPrefix: 'test.blobs', scope: 'tester', maxBlobBytes: 4 });
  await expect(small.getBytes(ref)).rejects.toThrow(new BlobError(ref.blobId, 'size 10 exceeds the 4 byte limit'));
});

test('rechunk cuts any sequence of pieces into fixed-size chunks', async () => {
  const pieces = [Uint8Array.from([1, 2, 3]), Uint8Array.from([4]), Uint8Array.from([5, 6, 7, 8, 9, 10, 11])];
  const out: number[][] = [];
  for await (const c of rechunk(pieces, 4)) out.push(Array.from(c));
  expect(out).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11]]);
});
