/**
 * FLW1: named float32 tensors in one binary blob — the format of every weights blob (global model,
 * centre update, aggregate). Designed so a reader gets Float32Array views on the blob without copying.
 *
 *   offset  size   field
 *   0       4      magic "FLW1" (ASCII)
 *   4       4      u32 header length H: bytes from offset 0 to the end of the tensor table
 *   8       4      u32 tensor count N
 *   12      ...    N table entries, in data order:
 *                    u16 L, then L bytes of UTF-8 name (unique, non-empty)
 *                    u8 dtype (1 = float32)
 *                    u8 rank R (0..32), then R × u32 dims
 *                    u64 byte offset of the tensor's data from the start of the blob (multiple of 64)
 *   H      ...     zero padding up to the first 64-byte boundary
 *   ...            each tensor's elements as little-endian float32, row-major, starting on a 64-byte
 *                  boundary, zero-padded to the next one; the blob ends on a 64-byte boundary.
 *
 * All integers are little-endian. Encoding is deterministic: the same tensors in the same order give the
 * same bytes (so the same SHA-256).
 */

/** One named tensor. `data.length` equals the product of `shape` (1 for a scalar, shape `[]`). */
export interface WeightTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A weights blob could not be encoded or decoded; the message says what and where. */
export class WeightFormatError extends Error {
  override readonly name = 'WeightFormatError';
}

export const WEIGHTS_MAGIC = 'FLW1';
/** Content type of FLW1 blobs, for BlobRef.media_type. */
export const WEIGHTS_MEDIA_TYPE = 'application/vnd.fedledger.weights.flw1';
/** Alignment of every tensor's data (cache line; also satisfies Float32Array's 4-byte requirement). */
export const WEIGHTS_ALIGNMENT = 64;

const DTYPE_FLOAT32 = 1;
const MAX_RANK = 32;
const MAX_NAME_BYTES = 0xffff;
const MAX_DIM = 0xffffffff;
const FIXED_HEADER = 12;
const MAGIC_BYTES = [0x46, 0x4c, 0x57, 0x31]; // "FLW1"

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

const align = (n: number): number => Math.ceil(n / WEIGHTS_ALIGNMENT) * WEIGHTS_ALIGNMENT;

function requireLittleEndianHost(): void {
  // Float32Array views use host byte order; FLW1 is little-endian. Every platform we target is.
  if (!LITTLE_ENDIAN_HOST) throw new WeightFormatError('FLW1 needs a little-endian host for zero-copy tensor views');
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

const describeShape = (shape: readonly number[]): string => `[${shape.join(',')}]`;

/** Encodes tensors, in the given order, into one FLW1 blob. */
export function encodeWeights(tensors: readonly WeightTensor[]): Uint8Array {
  return encode(tensors, true);
}

/**
 * An FLW1 blob for tensors of these names and shapes with zeros for data, and its tensors as views on it:
 * fill the views, store the bytes (the aggregator writes the round's mean there directly: no second copy).
 */
export function allocateWeights(layout: readonly Pick<WeightTensor, 'name' | 'shape'>[]): { bytes: Uint8Array; tensors: WeightTensor[] } {
  const bytes = encode(layout, false);
  return { bytes, tensors: decodeWeights(bytes) };
}

function encode(tensors: readonly (Pick<WeightTensor, 'name' | 'shape'> & { data?: Float32Array })[], withData: boolean): Uint8Array {
  requireLittleEndianHost();
  const names = new Set<string>();
  const entries = tensors.map((t, i) => {
    const what = `tensor #${i}${typeof t.name === 'string' ? ` '${t.name}'` : ''}`;
    if (typeof t.name !== 'string' || t.name.length === 0) throw new WeightFormatError(`${what}: name must be a non-empty string`);
    if (names.has(t.name)) throw new WeightFormatError(`${what}: duplicate tensor name`);
    names.add(t.name);
    const nameBytes = utf8.encode(t.name);
    if (nameBytes.length > MAX_NAME_BYTES) {
      throw new WeightFormatError(`${what}: name is ${nameBytes.length} UTF-8 bytes, at most ${MAX_NAME_BYTES} allowed`);
    }
    if (t.shape.length > MAX_RANK) throw new WeightFormatError(`${what}: rank ${t.shape.length} exceeds ${MAX_RANK}`);
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d < 0 || d > MAX_DIM) {
        throw new WeightFormatError(`${what}: shape ${describeShape(t.shape)} has an invalid dimension ${d}`);
      }
    }
    const count = elementCount(t.shape);
    if (withData) {
      if (!(t.data instanceof Float32Array)) throw new WeightFormatError(`${what}: data must be a Float32Array`);
      if (count !== t.data.length) {
        throw new WeightFormatError(`${what}: shape ${describeShape(t.shape)} holds ${count} values but data has ${t.data.length}`);
      }
    }
    return { tensor: t, count, nameBytes, offset: 0 };
  });

  let headerLength = FIXED_HEADER;
  for (const e of entries) headerLength += 2 + e.nameBytes.length + 2 + 4 * e.tensor.shape.length + 8;
  let cursor = align(headerLength);
  for (const e of entries) {
    e.offset = cursor;
    cursor = align(cursor + e.count * 4);
  }
  if (!Number.isSafeInteger(cursor)) throw new WeightFormatError(`weights of ${cursor} bytes are too large to encode`);

  const out = new Uint8Array(cursor); // zero-filled: padding is zeros
  const view = new DataView(out.buffer);
  out.set(MAGIC_BYTES, 0);
  view.setUint32(4, headerLength, true);
  view.setUint32(8, entries.length, true);
  let p = FIXED_HEADER;
  for (const e of entries) {
    view.setUint16(p, e.nameBytes.length, true);
    out.set(e.nameBytes, p + 2);
    p += 2 + e.nameBytes.length;
    view.setUint8(p, DTYPE_FLOAT32);
    view.setUint8(p + 1, e.tensor.shape.length);
    p += 2;
    for (const d of e.tensor.shape) {
      view.setUint32(p, d, true);
      p += 4;
    }
    view.setBigUint64(p, BigInt(e.offset), true);
    p += 8;
    if (e.tensor.data) new Float32Array(out.buffer, e.offset, e.count).set(e.tensor.data);
  }
  return out;
}

/**
 * Decodes an FLW1 blob. Each tensor's `data` is a Float32Array view on the blob's memory, not a copy —
 * unless `bytes` itself starts at an offset that is not a multiple of 4 (e.g. a slice of a network
 * buffer), in which case the blob is copied once to an aligned buffer and the views point there.
 * Views share memory with the blob: writing to one changes the other.
 */
export function decodeWeights(bytes: Uint8Array): WeightTensor[] {
  requireLittleEndianHost();
  if (!(bytes instanceof Uint8Array)) throw new WeightFormatError('weights blob must be a Uint8Array');
  if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
  const size = bytes.length;
  const fail = (reason: string): never => {
    throw new WeightFormatError(`malformed FLW1 weights blob (${size} bytes): ${reason}`);
  };
  if (size < FIXED_HEADER) fail(`shorter than the ${FIXED_HEADER}-byte fixed header (truncated?)`);
  if (!MAGIC_BYTES.every((b, i) => bytes[i] === b)) {
    fail(`expected magic "FLW1", got ${JSON.stringify(String.fromCharCode(...bytes.subarray(0, 4)))}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  const count = view.getUint32(8, true);
  if (headerLength > size) fail(`header claims ${headerLength} bytes (truncated?)`);

  const tensors: WeightTensor[] = [];
  const names = new Set<string>();
  let p = FIXED_HEADER;
  let dataEnd = align(headerLength);
  const need = (n: number, what: string): void => {
    if (p + n > headerLength) fail(`tensor table ends inside ${what} of tensor #${tensors.length} (header length ${headerLength})`);
  };
  for (let i = 0; i < count; i++) {
    need(2, 'the name length');
    const nameLength = view.getUint16(p, true);
    p += 2;
    need(nameLength, 'the name');
    let name = '';
    try {
      name = utf8Strict.decode(bytes.subarray(p, p + nameLength));
    } catch {
      fail(`tensor #${i} name is not valid UTF-8`);
    }
    p += nameLength;
    const what = `tensor #${i} '${name}'`;
    if (name.length === 0) fail(`tensor #${i} has an empty name`);
    if (names.has(name)) fail(`${what} appears twice`);
    names.add(name);
    need(2, 'the dtype and rank');
    const dtype = view.getUint8(p);
    const rank = view.getUint8(p + 1);
    p += 2;
    if (dtype !== DTYPE_FLOAT32) fail(`${what} has unknown dtype ${dtype} (only 1 = float32 is defined)`);
    if (rank > MAX_RANK) fail(`${what} has rank ${rank}, at most ${MAX_RANK} allowed`);
    need(4 * rank + 8, 'the shape and data offset');
    const shape: number[] = [];
    for (let d = 0; d < rank; d++, p += 4) shape.push(view.getUint32(p, true));
    const offset = Number(view.getBigUint64(p, true));
    p += 8;
    const length = elementCount(shape);
    const end = offset + length * 4;
    if (offset % WEIGHTS_ALIGNMENT !== 0) fail(`${what} data offset ${offset} is not ${WEIGHTS_ALIGNMENT}-byte aligned`);
    if (offset < dataEnd) fail(`${what} data at byte ${offset} overlaps the header or the previous tensor (which end at ${dataEnd})`);
    if (!Number.isSafeInteger(end) || end > size) {
      fail(`${what} with shape ${describeShape(shape)} needs bytes ${offset}..${end}, past the end of the blob (truncated?)`);
    }
    dataEnd = end;
    tensors.push({ name, shape, data: new Float32Array(bytes.buffer, bytes.byteOffset + offset, length) });
  }
  if (p !== headerLength) fail(`tensor table is ${p} bytes long but the header says ${headerLength}`);
  return tensors;
}
