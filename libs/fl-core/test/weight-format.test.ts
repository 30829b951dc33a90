import { createHash } from 'node:crypto';
import { allocateWeights, decodeWeights, encodeWeights, WEIGHTS_ALIGNMENT, WeightFormatError, type WeightTensor } from '../src';

const model: WeightTensor[] = [
  { name: 'conv1/kernel', shape: [3, 3, 1, 2], data: Float32Array.from({ length: 18 }, (_, i) => i / 10 - 0.9) },
  { name: 'conv1/bias', shape: [2], data: new Float32Array([0.5, -0.25]) },
  { name: 'temperature', shape: [], data: new Float32Array([1.5]) },
  { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
  { name: 'dense/kernel·ü', shape: [2, 3], data: new Float32Array([Number.NaN, Infinity, -0, 3.4e38, 1e-45, -1]) },
];

function malformed(bytes: Uint8Array): string {
  try {
    decodeWeights(bytes);
  } catch (err) {
    if (err instanceof WeightFormatError) return err.message;
    throw err;
  }
  throw new Error('expected a WeightFormatError');
}

describe('FLW1 weights format', () => {
  it('round-trips names, shapes and every float32 value bit for bit', () => {
    const decoded = decodeWeights(encodeWeights(model));
    expect(decoded.map((t) => [t.name, t.shape])).toEqual(model.map((t) => [t.name, t.shape]));
    decoded.forEach((t, i) => {
      expect(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).toEqual(
        new Uint8Array(model[i].data.buffer, model[i].data.byteOffset, model[i].data.byteLength),
      );
    });
  });

  it('starts with the magic and places every tensor on a 64-byte boundary', () => {
    const bytes = encodeWeights(model);
    expect(Buffer.from(bytes.subarray(0, 4)).toString('ascii')).toBe('FLW1');
    expect(bytes.length % WEIGHTS_ALIGNMENT).toBe(0);
    for (const t of decodeWeights(bytes)) expect(t.data.byteOffset % WEIGHTS_ALIGNMENT).toBe(0);
  });

  it('writes the documented layout for a single scalar', () => {
    const bytes = encodeWeights([{ name: 'w', shape: [], data: new Float32Array([1]) }]);
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(4, true)).toBe(12 + 2 + 1 + 2 + 8); // header length
    expect(view.getUint32(8, true)).toBe(1); // tensor count
    expect(view.getUint16(12, true)).toBe(1); // name length
    expect(bytes[14]).toBe('w'.charCodeAt(0));
    expect([bytes[15], bytes[16]]).toEqual([1, 0]); // dtype float32, rank 0
    expect(view.getBigUint64(17, true)).toBe(64n); // data offset
    expect(view.getFloat32(64, true)).toBe(1);
    expect(bytes.length).toBe(128);
  });

  it('is deterministic: same tensors, same bytes, same digest', () => {
    const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(digest(encodeWeights(model))).toBe(digest(encodeWeights(model.map((t) => ({ ...t, data: t.data.slice() })))));
  });

  it('decodes to views on the blob, without copying', () => {
    const bytes = encodeWeights(model);
    const [kernel] = decodeWeights(bytes);
    expect(kernel.data.buffer).toBe(bytes.buffer);
    kernel.data[0] = 42;
    expect(decodeWeights(bytes)[0].data[0]).toBe(42);
  });

  it('decodes a blob that sits inside a larger buffer', () => {
    const blob = encodeWeights(model);
    const aligned = new Uint8Array(blob.length + 8);
    aligned.set(blob, 8);
    const viewed = decodeWeights(aligned.subarray(8));
    expect(viewed[1].data.buffer).toBe(aligned.buffer);
    expect(Array.from(viewed[1].data)).toEqual([0.5, -0.25]);

    const misaligned = new Uint8Array(blob.length + 3);
    misaligned.set(blob, 3);
    const copied = decodeWeights(misaligned.subarray(3)); // Float32Array needs 4-byte alignment: one copy
    expect(Array.from(copied[1].data)).toEqual([0.5, -0.25]);
  });

  it('allocates a blob to be filled in place: same bytes as encoding the filled tensors', () => {
    const layout = [
      { name: 'conv/kernel', shape: [3, 3, 1, 5] },
      { name: 'conv/bias', shape: [5] },
      { name: 'scalar', shape: [] },
    ];
    const { bytes, tensors } = allocateWeights(layout);
    expect(tensors.map((t) => [t.name, t.shape])).toEqual(layout.map((l) => [l.name, l.shape]));
    expect(tensors.every((t) => t.data.every((v) => v === 0))).toBe(true);
    tensors.forEach((t, i) => t.data.forEach((_, j) => (t.data[j] = i * 100 + j / 7)));
    const filled = tensors.map((t) => ({ ...t, data: t.data.slice() }));
    expect(Buffer.from(bytes).equals(Buffer.from(encodeWeights(filled)))).toBe(true);
    expect(decodeWeights(bytes).map((t) => Array.from(t.data))).toEqual(filled.map((t) => Array.from(t.data)));
  });

  it('encodes an empty model', () => {
    expect(decodeWeights(encodeWeights([]))).toEqual([]);
  });

  describe('refuses to encode', () => {
    it.each<[string, WeightTensor[], string]>([
      [
        'a shape that does not match the data',
        [{ name: 'conv1/kernel', shape: [3, 3, 1, 16], data: new Float32Array(72) }],
        "tensor #0 'conv1/kernel': shape [3,3,1,16] holds 144 values but data has 72",
      ],
      ['duplicate names', [model[1], model[1]], "tensor #1 'conv1/bias': duplicate tensor name"],
      ['an empty name', [{ name: '', shape: [1], data: new Float32Array(1) }], 'name must be a non-empty string'],
      ['a fractional dimension', [{ name: 'x', shape: [1.5], data: new Float32Array(1) }], 'invalid dimension 1.5'],
      ['a negative dimension', [{ name: 'x', shape: [-1], data: new Float32Array(0) }], 'invalid dimension -1'],
    ])('%s', (_what, tensors, message) => {
      expect(() => encodeWeights(tensors)).toThrow(WeightFormatError);
      expect(() => encodeWeights(tensors)).toThrow(message);
    });

    it('non-float32 data', () => {
      const bad = { name: 'x', shape: [2], data: new Float64Array(2) } as unknown as WeightTensor;
      expect(() => encodeWeights([bad])).toThrow('data must be a Float32Array');
    });
  });

  describe('refuses malformed blobs with a reason', () => {
    const good = () => encodeWeights(model);

    it('wrong magic', () => {
      const bytes = good();
      bytes.set([0x50, 0x4b, 0x03, 0x04]);
      expect(malformed(bytes)).toContain('expected magic "FLW1", got "PK\\u0003\\u0004"');
    });

    it('truncated fixed header', () => {
      expect(malformed(good().subarray(0, 10))).toBe('malformed FLW1 weights blob (10 bytes): shorter than the 12-byte fixed header (truncated?)');
    });

    it('truncated data', () => {
      const bytes = good();
      expect(malformed(bytes.slice(0, bytes.length - 64))).toMatch(
        /tensor #4 'dense\/kernel·ü' with shape \[2,3\] needs bytes \d+\.\.\d+, past the end of the blob \(truncated\?\)/,
      );
    });

    it('truncated header', () => {
      expect(malformed(good().slice(0, 40))).toContain('header claims');
    });

    it('unknown dtype', () => {
      const bytes = encodeWeights([{ name: 'w', shape: [], data: new Float32Array([1]) }]);
      bytes[15] = 7;
      expect(malformed(bytes)).toContain("tensor #0 'w' has unknown dtype 7");
    });

    it('misaligned data offset', () => {
      const bytes = encodeWeights([{ name: 'w', shape: [], data: new Float32Array([1]) }]);
      new DataView(bytes.buffer).setBigUint64(17, 68n, true);
      expect(malformed(bytes)).toContain('data offset 68 is not 64-byte aligned');
    });

    it('data overlapping the header', () => {
      const bytes = encodeWeights([{ name: 'w', shape: [], data: new Float32Array([1]) }]);
      new DataView(bytes.buffer).setBigUint64(17, 0n, true);
      expect(malformed(bytes)).toContain('overlaps the header');
    });

    it('a tensor count larger than the table', () => {
      const bytes = encodeWeights([{ name: 'w', shape: [], data: new Float32Array([1]) }]);
      new DataView(bytes.buffer).setUint32(8, 1_000_000, true);
      expect(malformed(bytes)).toContain('tensor table ends inside the name length of tensor #1');
    });

    it('a header length that disagrees with the table', () => {
      const bytes = encodeWeights([{ name: 'w', shape: [], data: new Float32Array([1]) }]);
      new DataView(bytes.buffer).setUint32(8, 0, true);
      expect(malformed(bytes)).toContain('tensor table is 12 bytes long but the header says 25');
    });

    it('a name that is not UTF-8', () => {
      const bytes = encodeWeights([{ name: 'w', shape: [], data: new Float32Array([1]) }]);
      bytes[14] = 0xff;
      expect(malformed(bytes)).toContain('tensor #0 name is not valid UTF-8');
    });
  });
});
