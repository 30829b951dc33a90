import {
  createRandomSource,
  matchHistogram,
  normaliseInPlace,
  preprocessBatch,
  preprocessImage,
  resize,
  type Image2D,
  type LandmarkConfig,
} from '../src/preprocess';

/** A synthetic mammogram-like image: dark background on the left, textured tissue on the right. */
function tissue(height: number, width: number, seed: number): Image2D {
  const random = createRandomSource(seed);
  const data = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data[y * width + x] = x < width / 4 ? 0 : 0.2 + 0.5 * (0.5 + 0.5 * Math.sin(x / 7) * Math.cos(y / 5)) + 0.1 * random();
    }
  }
  return { width, height, data };
}

const stats = (d: ArrayLike<number>) => {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < d.length; i++) {
    s += d[i]!;
    s2 += d[i]! * d[i]!;
  }
  const mean = s / d.length;
  return { mean, std: Math.sqrt(s2 / d.length - mean * mean) };
};

const landmarks: LandmarkConfig = {
  percentiles: [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99],
  standard: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
  foregroundThreshold: 0.05,
};

describe('normaliseInPlace', () => {
  test('z-score (the default): mean 0, standard deviation 1 over all pixels', () => {
    const d = Float32Array.from(tissue(32, 32, 1).data);
    const { mean, std } = stats(normaliseInPlace(d));
    expect(mean).toBeCloseTo(0, 5);
    expect(std).toBeCloseTo(1, 4);
  });

  test('z-score over the foreground: statistics from values above the threshold, applied to every pixel', () => {
    const d = Float32Array.from(tissue(32, 32, 2).data);
    normaliseInPlace(d, { method: 'zscore', foregroundThreshold: 0.05 });
    const fg = Array.from(d).filter((_, i) => i % 32 >= 8);
    const { mean, std } = stats(fg);
    expect(mean).toBeCloseTo(0, 5);
    expect(std).toBeCloseTo(1, 4);
    expect(d[0]).toBeLessThan(-1); // background, below the tissue
  });

  test('min-max to [0, 1]; a constant image becomes zeros under either method', () => {
    const d = normaliseInPlace(Float32Array.from([2, 4, 3, 6]), { method: 'minmax' });
    expect(Array.from(d)).toEqual([0, 0.5, 0.25, 1]);
    expect(Array.from(normaliseInPlace(new Float32Array(4).fill(5), { method: 'minmax' }))).toEqual([0, 0, 0, 0]);
    expect(Array.from(normaliseInPlace(new Float32Array(4).fill(5)))).toEqual([0, 0, 0, 0]);
    expect(Array.from(normaliseInPlace(Float32Array.from([1, 2]), { method: 'none' }))).toEqual([1, 2]);
  });

  test('clear errors', () => {
    expect(() => normaliseInPlace(new Float32Array(4), { method: 'zscore', foregroundThreshold: 1 })).toThrow(/no pixel above foregroundThreshold = 1/);
    expect(() => normaliseInPlace(new Float32Array(4), { method: 'zscore', foregroundThreshold: Number.NaN })).toThrow(/foregroundThreshold must be a finite number/);
    expect(() => normaliseInPlace(new Float32Array(4), { method: 'max' } as never)).toThrow(/normalisation\.method must be 'zscore', 'minmax' or 'none', got "max"/);
  });
});

describe('preprocessImage', () => {
  test('histogram matching at native resolution → resize → normalisation, h·w values', () => {
    const img = tissue(128, 128, 3);
    const out = preprocessImage(img, { size: [64, 32], landmarks, normalisation: { method: 'minmax' } });
    expect(out).toHaveLength(64 * 32);
    const expected = normaliseInPlace(resize(matchHistogram(img, landmarks), [64, 32]).data, { method: 'minmax' });
    expect(out).toEqual(expected);
    // Matching after resizing gives something else: the order is not a detail.
    const otherOrder = normaliseInPlace(matchHistogram(resize(img, [64, 32]), landmarks).data, { method: 'minmax' });
    expect(out).not.toEqual(otherOrder);
  });

  test('defaults to z-score and works without landmarks', () => {
    const { mean, std } = stats(preprocessImage(tissue(40, 40, 4), { size: [20, 20] }));
    expect(mean).toBeCloseTo(0, 5);
    expect(std).toBeCloseTo(1, 4);
  });

  test('preprocessBatch is the concatenation of preprocessImage', () => {
    const images = [tissue(64, 64, 5), tissue(80, 48, 6), tissue(32, 32, 7)];
    const options = { size: [16, 16] as const, landmarks };
    const batch = preprocessBatch(images, options);
    expect(batch).toHaveLength(3 * 256);
    images.forEach((img, i) => expect(batch.subarray(i * 256, (i + 1) * 256)).toEqual(preprocessImage(img, options)));
  });

  test('clear errors naming the image and the field', () => {
    const blank: Image2D = { width: 8, height: 8, data: new Float32Array(64) };
    expect(() => preprocessBatch([tissue(16, 16, 1), blank], { size: [8, 8], landmarks })).toThrow(/images\[1\]: image has no foreground pixels/);
    expect(() => preprocessImage(tissue(16, 16, 1), { size: [8, 0] })).toThrow(/options\.size\[1\] \(width\) must be a positive integer/);
    expect(() => preprocessBatch([], { size: [8, 8], landmarks: { ...landmarks, standard: [0, 1] } })).toThrow(
      /options\.landmarks\.standard has 2 values but options\.landmarks\.percentiles has 11/,
    );
  });
});
