import { createRandomSource, resize, type Image2D } from '../src/preprocess';

const image = (height: number, width: number, values: ArrayLike<number> | ((y: number, x: number) => number)): Image2D => {
  const data = new Float32Array(height * width);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = typeof values === 'function' ? values(y, x) : values[y * width + x]!;
  return { width, height, data };
};

const noise = (height: number, width: number, seed = 1): Image2D => {
  const random = createRandomSource(seed);
  return image(height, width, () => random());
};

describe('resize', () => {
  test('a constant image stays constant, shrinking or enlarging, by any factor', () => {
    const c = image(100, 128, () => 0.3);
    for (const size of [[64, 64], [37, 101], [1, 1], [200, 256], [100, 128], [333, 7]] as const) {
      const out = resize(c, size);
      expect([out.height, out.width]).toEqual(size);
      expect(Math.max(...out.data.map((v) => Math.abs(v - 0.3)))).toBeLessThan(1e-6);
    }
  });

  test('shrinking by 2 is the mean of each 2×2 block', () => {
    const src = noise(8, 6);
    const out = resize(src, [4, 3]);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 3; x++) {
        const at = (yy: number, xx: number) => src.data[yy * 6 + xx]!;
        const mean = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4;
        expect(out.data[y * 3 + x]).toBeCloseTo(mean, 6);
      }
    }
  });

  test('shrinking by 1.5 weights the partly covered pixel by its overlap', () => {
    // 3 → 2: output 0 covers [0, 1.5), output 1 covers [1.5, 3).
    const out = resize(image(1, 3, [3, 6, 9]), [1, 2]);
    expect(out.data[0]).toBeCloseTo((3 + 0.5 * 6) / 1.5, 6);
    expect(out.data[1]).toBeCloseTo((0.5 * 6 + 9) / 1.5, 6);
  });

  test('shrinking by a large factor averages the whole area (no aliasing)', () => {
    // Uniform noise (sd 0.289) shrunk 8× per axis: each output is the mean of 64 pixels, sd ≈ 0.036.
    // Bilinear sampling would average 4 pixels (sd ≈ 0.144) and alias.
    const src = noise(128, 128, 3);
    const sd = (d: Float32Array) => {
      const m = d.reduce((s, v) => s + v, 0) / d.length;
      return Math.sqrt(d.reduce((s, v) => s + (v - m) ** 2, 0) / d.length);
    };
    expect(sd(resize(src, [16, 16]).data)).toBeLessThan(0.05);
    // The mean is kept when the factor divides the size.
    const mean = (d: Float32Array) => d.reduce((s, v) => s + v, 0) / d.length;
    expect(mean(resize(src, [16, 32]).data)).toBeCloseTo(mean(src.data), 5);
  });

  test('enlarging is bilinear with half-pixel centres and clamped edges', () => {
    // 1×2 → 1×4: sample points −0.25, 0.25, 0.75, 1.25 → clamped to 0, 0.25, 0.75, 1.
    expect(Array.from(resize(image(1, 2, [0, 1]), [1, 4]).data)).toEqual([0, 0.25, 0.75, 1]);
    // 2×2 → 4×4: separable, so the centre 2×2 block is the bilinear blend of the four corners.
    const out = resize(image(2, 2, [0, 1, 2, 3]), [4, 4]);
    expect(out.data[1 * 4 + 1]).toBeCloseTo(0.25 * 2 + 0.25, 6);
    expect(out.data[0]).toBe(0);
    expect(out.data[15]).toBe(3);
  });

  test('same size is an exact copy and the input is left alone', () => {
    const src = noise(5, 7);
    const before = Float32Array.from(src.data);
    const out = resize(src, [5, 7]);
    expect(out.data).toEqual(src.data);
    expect(out.data).not.toBe(src.data);
    resize(src, [2, 3]);
    expect(src.data).toEqual(before);
  });

  test('a single row or column can be enlarged', () => {
    const out = resize(image(1, 1, [0.7]), [3, 5]);
    for (const v of out.data) expect(v).toBeCloseTo(0.7, 6);
  });

  test('clear errors', () => {
    expect(() => resize({ width: 4, height: 4, data: new Float32Array(15) }, [2, 2])).toThrow(/image\.data has 15 values but width \* height = 4 \* 4 = 16/);
    expect(() => resize(noise(4, 4), [0, 2])).toThrow(/size\[0\] \(height\) must be a positive integer, got 0/);
    expect(() => resize(noise(4, 4), [2, 2.5])).toThrow(/size\[1\] \(width\) must be a positive integer/);
    expect(() => resize({ width: -1, height: 4, data: new Float32Array(4) }, [2, 2])).toThrow(/image\.width must be a positive integer/);
  });
});
