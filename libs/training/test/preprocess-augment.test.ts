import {
  applyAugmentation,
  augment,
  augmentBatch,
  createRandomSource,
  deriveSeed,
  flipHorizontal,
  sampleAugmentation,
  type AugmentParams,
} from '../src/preprocess';

const H = 16;
const W = 12;
const random = createRandomSource('img');
const img = Float32Array.from({ length: H * W }, () => random());
const identity: AugmentParams = { flip: false, dx: 0, dy: 0, rotationDegrees: 0, contrast: 1, brightness: 0 };
const at = (d: Float32Array, y: number, x: number, w = W) => d[y * w + x]!;

const stats = (d: Float32Array) => {
  const mean = d.reduce((s, v) => s + v, 0) / d.length;
  return { mean, std: Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / d.length) };
};

describe('augmentation', () => {
  test('deterministic for a seed, different for another, and the input is left alone', () => {
    const before = Float32Array.from(img);
    const batch = new Float32Array([...img, ...img.map((v) => 1 - v)]);
    const a = augmentBatch(batch, [H, W], 42);
    expect(augmentBatch(batch, [H, W], 42)).toEqual(a);
    expect(augmentBatch(batch, [H, W], deriveSeed(42, 'epoch', 1))).not.toEqual(a);
    expect(img).toEqual(before);
    // Each image of a batch gets its own draws: the same as augmenting one after the other.
    const r = createRandomSource(42);
    expect(a.subarray(0, H * W)).toEqual(augment(batch.subarray(0, H * W), [H, W], r));
    expect(a.subarray(H * W)).toEqual(augment(batch.subarray(H * W), [H, W], r));
  });

  test('flip of flip is the identity; a flip mirrors the columns', () => {
    const once = flipHorizontal(img, [H, W]);
    expect(flipHorizontal(once, [H, W])).toEqual(img);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) expect(at(once, y, x)).toBe(at(img, y, W - 1 - x));
  });

  test('no change at all is an exact copy', () => {
    const out = applyAugmentation(img, [H, W], identity);
    expect(out).toEqual(img);
    expect(out).not.toBe(img);
  });

  test('a whole-pixel shift moves the content and repeats the edge', () => {
    const out = applyAugmentation(img, [H, W], { ...identity, dx: 2, dy: -1 });
    expect(at(out, 3, 5)).toBe(at(img, 4, 3));
    expect(at(out, 3, 0)).toBe(at(img, 4, 0)); // left edge repeated
    expect(at(out, H - 1, 7)).toBe(at(img, H - 1, 5)); // bottom edge repeated
  });

  test('a 90° rotation about the centre of a square image moves pixels exactly', () => {
    const n = 5;
    const sq = Float32Array.from({ length: n * n }, (_, i) => i);
    const out = applyAugmentation(sq, [n, n], { ...identity, rotationDegrees: 90 });
    // Output (y, x) samples input (row n−1−x, column y).
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) expect(at(out, y, x, n)).toBeCloseTo(at(sq, n - 1 - x, y, n), 9);
    // A half-pixel shift blends neighbours.
    const half = applyAugmentation(sq, [n, n], { ...identity, dx: 0.5 });
    expect(at(half, 2, 2, n)).toBeCloseTo((at(sq, 2, 1, n) + at(sq, 2, 2, n)) / 2, 6);
  });

  test('contrast scales about the mean, brightness adds a share of the standard deviation', () => {
    const s = stats(img);
    const out = applyAugmentation(img, [H, W], { ...identity, contrast: 1.1, brightness: 0.05 });
    const o = stats(out);
    expect(o.mean).toBeCloseTo(s.mean + 0.05 * s.std, 5);
    expect(o.std).toBeCloseTo(1.1 * s.std, 5);
  });

  test('the defaults are light: whole-pixel shifts of at most 2, intensity within 5 %, no rotation', () => {
    const r = createRandomSource(1);
    const draws = Array.from({ length: 500 }, () => sampleAugmentation(r));
    for (const d of draws) {
      expect(Number.isInteger(d.dx) && Math.abs(d.dx) <= 2 && Number.isInteger(d.dy) && Math.abs(d.dy) <= 2).toBe(true);
      expect(Math.abs(d.contrast - 1)).toBeLessThanOrEqual(0.05);
      expect(Math.abs(d.brightness)).toBeLessThanOrEqual(0.05);
      expect(d.rotationDegrees).toBe(0);
    }
    const flips = draws.filter((d) => d.flip).length;
    expect(flips).toBeGreaterThan(200);
    expect(flips).toBeLessThan(300);
    expect(new Set(draws.map((d) => d.dx)).size).toBe(5);
  });

  test('switching one augmentation off leaves the others the same for a seed', () => {
    const withFlip = sampleAugmentation(createRandomSource(9), { maxRotationDegrees: 5 });
    const noFlip = sampleAugmentation(createRandomSource(9), { flip: false, maxRotationDegrees: 5 });
    expect({ ...noFlip, flip: withFlip.flip }).toEqual(withFlip);
  });

  test('clear errors', () => {
    expect(() => augmentBatch(new Float32Array(10), [3, 3], 1)).toThrow(/batch has 10 values, not a multiple of size \[3, 3\] = 9/);
    expect(() => augmentBatch(img, [H, W], 1, { maxShift: 1.5 })).toThrow(/options\.maxShift must be a non-negative integer/);
    expect(() => augmentBatch(img, [H, W], 1, { maxRotationDegrees: 90 })).toThrow(/options\.maxRotationDegrees must be in \[0, 45\]/);
    expect(() => augmentBatch(img, [H, W], 1, { contrast: -0.1 })).toThrow(/options\.contrast must be in \[0, 0.5\]/);
    expect(() => applyAugmentation(img, [W, W], identity)).toThrow(/data has 192 values but size = \[12, 12\] needs 144/);
  });
});
