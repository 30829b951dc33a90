import {
  HISTOGRAM_BINS,
  createRandomSource,
  imageLandmarks,
  landmarkMapping,
  learnStandardLandmarks,
  matchHistogram,
  validateLandmarkConfig,
  type Image2D,
  type LandmarkConfig,
} from '../src/preprocess';

const W = 128;
const H = 128;
const PERCENTILES = [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99];
/** Columns < 32 are background (air), the rest tissue. */
const isTissue = (i: number) => i % W >= 32;

/** The "true" tissue: smooth structure plus texture, in [0.1, 0.9]; −1 marks the background. */
function anatomy(seed: number): Float32Array {
  const random = createRandomSource(seed);
  const d = new Float32Array(W * H);
  for (let i = 0; i < d.length; i++) {
    const x = i % W;
    const y = Math.floor(i / W);
    d[i] = isTissue(i) ? 0.5 + 0.35 * Math.sin(x / 9 + y / 13) * Math.cos(y / 7) + 0.1 * (random() - 0.5) : -1;
  }
  return d;
}

/** The same anatomy through a scanner: a monotone contrast curve, its own noise, background 0, display range [0, 1]. */
function scanner(content: Float32Array, curve: (v: number) => number, seed: number): Image2D & { meta: { scanner: number } } {
  const random = createRandomSource(seed);
  const data = content.map((v) => (v < 0 ? 0 : Math.min(1, Math.max(0, curve(v) + 0.02 * (random() - 0.5)))));
  return { width: W, height: H, data, meta: { scanner: seed } };
}

/** The tissue pixels only, as a 1-row image (so landmarks can be recomputed on exactly the same pixels). */
const tissueOf = (img: Image2D): Image2D => {
  const data = img.data.filter((_, i) => isTissue(i));
  return { width: data.length, height: 1, data };
};

const meanAbsDiff = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
};

/** L1 distance of two 32-bin histograms on [0, 1] (values outside go to the end bins), as shares. */
const histogramDistance = (a: Float32Array, b: Float32Array) => {
  const hist = (d: Float32Array) => {
    const h = new Float64Array(32);
    for (const v of d) h[Math.min(31, Math.max(0, Math.floor(v * 32)))]! += 1 / d.length;
    return h;
  };
  const [p, q] = [hist(a), hist(b)];
  return p.reduce((s, v, i) => s + Math.abs(v - q[i]!), 0);
};

const content = anatomy(1);
const gammaHalf = scanner(content, (v) => Math.sqrt(v), 2);
const gammaTwo = scanner(content, (v) => 0.1 + 0.7 * v * v, 3);

describe('imageLandmarks', () => {
  test('percentiles of a ramp, within a histogram bin', () => {
    const n = 10_001;
    const ramp: Image2D = { width: n, height: 1, data: Float32Array.from({ length: n }, (_, i) => i / (n - 1)) };
    const l = imageLandmarks(ramp, { percentiles: [0, 25, 50, 99, 100] });
    [0, 0.25, 0.5, 0.99, 1].forEach((p, i) => expect(Math.abs(l[i]! - p)).toBeLessThanOrEqual(1 / HISTOGRAM_BINS));
  });

  test('the foreground threshold leaves the background out', () => {
    const withAir = imageLandmarks(gammaHalf, { percentiles: PERCENTILES });
    const tissueOnly = imageLandmarks(gammaHalf, { percentiles: PERCENTILES, foregroundThreshold: 0.02 });
    expect(withAir.slice(0, 3)).toEqual([0, 0, 0]); // a quarter of the image is air at 0
    expect(tissueOnly).toEqual(imageLandmarks(tissueOf(gammaHalf), { percentiles: PERCENTILES }));
    expect(tissueOnly[0]).toBeGreaterThan(0.2);
  });

  test('no foreground is an error naming the threshold', () => {
    const black: Image2D = { width: 4, height: 4, data: new Float32Array(16) };
    expect(() => imageLandmarks(black, { percentiles: PERCENTILES, foregroundThreshold: 0.02 })).toThrow(/no foreground pixels.*foregroundThreshold = 0.02/);
  });
});

describe('matchHistogram (Nyúl–Udupa)', () => {
  const config = learnStandardLandmarks([gammaHalf, gammaTwo], { percentiles: PERCENTILES, scale: [0, 1], foregroundThreshold: 0.02 });

  test("after matching, an image's landmarks are the standard landmarks (within histogram-bin tolerance)", () => {
    const outputSpan = 1.2; // the default output range, standard range ± 10 %
    for (const img of [gammaHalf, gammaTwo, scanner(content, (v) => 0.3 + 0.4 * v, 9)]) {
      const matched = matchHistogram(img, config);
      const after = imageLandmarks(tissueOf(matched), { percentiles: PERCENTILES });
      after.forEach((v, i) => expect(Math.abs(v - config.standard[i]!)).toBeLessThanOrEqual((2 * outputSpan) / HISTOGRAM_BINS));
    }
  });

  test('the same anatomy under different contrast curves (gamma ½ vs 2, offset, noise) becomes far closer', () => {
    const [a, b] = [matchHistogram(gammaHalf, config), matchHistogram(gammaTwo, config)];
    const pixelsBefore = meanAbsDiff(tissueOf(gammaHalf).data, tissueOf(gammaTwo).data);
    const pixelsAfter = meanAbsDiff(tissueOf(a).data, tissueOf(b).data);
    const histBefore = histogramDistance(tissueOf(gammaHalf).data, tissueOf(gammaTwo).data);
    const histAfter = histogramDistance(tissueOf(a).data, tissueOf(b).data);
    // Measured: pixels 0.40 → 0.015 (×26), histograms 1.63 → 0.054 (×30).
    expect(pixelsBefore / pixelsAfter).toBeGreaterThan(10);
    expect(histBefore / histAfter).toBeGreaterThan(10);
    expect(pixelsAfter).toBeLessThan(0.03);
  });

  test('returns a copy with the other fields kept; the mapping is monotone and clamped to outputRange', () => {
    const withMarker = { ...gammaTwo, data: Float32Array.from(gammaTwo.data) };
    withMarker.data[W * H - 1] = 1; // a burned-in marker at full brightness
    const matched = matchHistogram(withMarker, { ...config, outputRange: [-0.05, 1.05] });
    expect(matched.meta).toEqual({ scanner: 3 });
    expect(matched.data).not.toBe(withMarker.data);
    expect(Math.max(...matched.data)).toBeLessThanOrEqual(1.05 + 1e-6);
    expect(Math.min(...matched.data)).toBeGreaterThanOrEqual(-0.05 - 1e-6);
    const order = Array.from(withMarker.data.keys()).sort((i, j) => withMarker.data[i]! - withMarker.data[j]!);
    const decreasing = order.filter((i, k) => k > 0 && matched.data[i]! < matched.data[order[k - 1]!]!);
    expect(decreasing).toEqual([]);
  });

  test('a partly constant foreground (air counted as foreground) still maps monotonically', () => {
    const noThreshold: LandmarkConfig = { percentiles: PERCENTILES, standard: PERCENTILES.map((p) => p / 100) };
    const matched = matchHistogram(gammaHalf, noThreshold);
    // The air (a quarter, all 0) ties the first three landmarks: it maps to their mean standard value.
    expect(matched.data[0]).toBeCloseTo((0.01 + 0.1 + 0.2) / 3, 6);
    const f = landmarkMapping(imageLandmarks(gammaHalf, noThreshold), noThreshold);
    for (let v = 0, prev = -Infinity; v <= 1; v += 0.01) {
      expect(f(v)).toBeGreaterThanOrEqual(prev);
      prev = f(v);
    }
  });
});

describe('learnStandardLandmarks', () => {
  test('images that differ by a linear scale give that shape, with the outer landmarks on the scale', () => {
    const base = anatomy(4).map((v) => (v < 0 ? 0 : v));
    const images = [1, 0.5, 2].map((k): Image2D => ({ width: W, height: H, data: base.map((v) => v * k) }));
    const learnt = learnStandardLandmarks(images, { percentiles: PERCENTILES, scale: [0, 100], foregroundThreshold: 0.01 });
    const one = imageLandmarks(images[0]!, { percentiles: PERCENTILES, foregroundThreshold: 0.01 });
    const expected = one.map((v) => (100 * (v - one[0]!)) / (one[10]! - one[0]!));
    learnt.standard.forEach((s, i) => expect(s).toBeCloseTo(expected[i]!, 1));
    expect(learnt.standard[0]).toBe(0);
    expect(learnt.standard[10]).toBe(100);
    expect(learnt.percentiles).toEqual(PERCENTILES);
    expect(learnt.foregroundThreshold).toBe(0.01);
    expect(() => validateLandmarkConfig(learnt)).not.toThrow();
  });

  test('constant images are skipped; none usable, or an image without foreground, is an error', () => {
    const flat: Image2D = { width: 4, height: 4, data: new Float32Array(16).fill(0.5) };
    const learnt = learnStandardLandmarks([flat, gammaHalf], { percentiles: PERCENTILES, scale: [0, 1], foregroundThreshold: 0.02 });
    expect(learnt.standard).toEqual(learnStandardLandmarks([gammaHalf], { percentiles: PERCENTILES, scale: [0, 1], foregroundThreshold: 0.02 }).standard);
    expect(() => learnStandardLandmarks([flat], { percentiles: PERCENTILES, scale: [0, 1] })).toThrow(/none of the 1 images has a non-constant foreground/);
    const black: Image2D = { width: 4, height: 4, data: new Float32Array(16) };
    expect(() => learnStandardLandmarks([gammaHalf, black], { percentiles: PERCENTILES, scale: [0, 1], foregroundThreshold: 0.02 })).toThrow(
      /images\[1\]: image has no foreground pixels/,
    );
    expect(() => learnStandardLandmarks([gammaHalf], { percentiles: PERCENTILES, scale: [1, 0] })).toThrow(/options\.scale must have low < high/);
  });
});

describe('validateLandmarkConfig', () => {
  const ok: LandmarkConfig = { percentiles: [1, 50, 99], standard: [0, 0.5, 1] };
  test.each([
    [{ ...ok, standard: [0, 1] }, /LandmarkConfig\.standard has 2 values but LandmarkConfig\.percentiles has 3/],
    [{ ...ok, percentiles: [1, 50, 50] }, /LandmarkConfig\.percentiles must be strictly increasing, but \[2\] = 50 is not greater than \[1\] = 50/],
    [{ ...ok, standard: [0, 0.7, 0.6] }, /LandmarkConfig\.standard must be strictly increasing/],
    [{ ...ok, percentiles: [1, 50, 101] }, /LandmarkConfig\.percentiles\[2\] must be in \[0, 100\], got 101/],
    [{ ...ok, percentiles: [-1, 50, 99] }, /LandmarkConfig\.percentiles\[0\] must be in \[0, 100\]/],
    [{ ...ok, standard: [0, Number.NaN, 1] }, /LandmarkConfig\.standard\[1\] must be a finite number/],
    [{ percentiles: [50], standard: [0.5] }, /LandmarkConfig\.percentiles must have at least 2 values/],
    [{ ...ok, foregroundThreshold: Number.POSITIVE_INFINITY }, /LandmarkConfig\.foregroundThreshold must be a finite number/],
    [{ ...ok, outputRange: [1, 0] as const }, /LandmarkConfig\.outputRange must have low < high/],
  ])('rejects %j', (config, message) => {
    expect(() => validateLandmarkConfig(config as LandmarkConfig)).toThrow(message);
    expect(() => matchHistogram(gammaHalf, config as LandmarkConfig)).toThrow(message);
  });

  test('accepts a valid config', () => {
    expect(() => validateLandmarkConfig(ok)).not.toThrow();
  });
});
