import { checkImage, type Image2D } from './types';

/**
 * Nyúl–Udupa intensity standardisation (Nyúl & Udupa 1999; Nyúl, Udupa & Zhang 2000): each image's
 * intensity landmarks (percentiles of its foreground) are mapped piecewise-linearly onto a standard set
 * of landmarks that is part of the experiment definition, so every centre maps its scanner's intensities
 * onto the same scale.
 */
export interface LandmarkConfig {
  /** Percentiles of the foreground intensities, in [0, 100], strictly increasing, e.g. [1, 10, 20, …, 90, 99]. */
  readonly percentiles: readonly number[];
  /** Target value of each landmark, same length, strictly increasing, e.g. on [0, 1]. */
  readonly standard: readonly number[];
  /**
   * Only values strictly above this count when computing percentiles (e.g. to ignore the dark air around
   * the breast, which would otherwise pin the low percentiles to 0). Default: every finite value counts.
   * The mapping itself is applied to every pixel, background included.
   */
  readonly foregroundThreshold?: number;
  /**
   * Outputs are clamped to this range. Beyond the outer landmarks the mapping extrapolates the outer
   * segments linearly, which for a far outlier (a burned-in marker, a collimator edge) could go anywhere.
   * Default: the standard range widened by 10 % of its span on each side.
   */
  readonly outputRange?: readonly [number, number];
}

export type LandmarkPercentiles = Pick<LandmarkConfig, 'percentiles' | 'foregroundThreshold'>;

export interface LearnLandmarksOptions extends LandmarkPercentiles {
  /** [s1, s2]: each image's first and last landmark are mapped onto these before averaging. */
  readonly scale: readonly [number, number];
  readonly outputRange?: readonly [number, number];
}

/** Histogram resolution for the percentiles: landmarks are exact to within (max − min) / 4096 of the foreground. */
export const HISTOGRAM_BINS = 4096;

/** Margin of the default `outputRange`, as a share of the standard span. */
const DEFAULT_OUTPUT_MARGIN = 0.1;

/** Throws (naming the field and the reason) unless `config` is usable. */
export function validateLandmarkConfig(config: LandmarkConfig, field = 'LandmarkConfig'): void {
  checkLandmarkPercentiles(config, field);
  checkIncreasing(config.standard, `${field}.standard`);
  if (config.standard.length !== config.percentiles.length) {
    throw new RangeError(
      `${field}.standard has ${config.standard.length} values but ${field}.percentiles has ${config.percentiles.length}; they must have the same length`,
    );
  }
  if (config.outputRange !== undefined) checkRange(config.outputRange, `${field}.outputRange`);
}

/**
 * The image's intensities at `config.percentiles` over its foreground (values > `foregroundThreshold`),
 * from a 4096-bin histogram (two passes: range, then counts) rather than a sort. Non-decreasing;
 * equal values when the foreground is (partly) constant. Throws if the image has no foreground.
 */
export function imageLandmarks(image: Image2D, config: LandmarkPercentiles): number[] {
  checkLandmarkPercentiles(config, 'config');
  checkImage(image);
  return percentilesOf(image.data, config.percentiles, config.foregroundThreshold);
}

/**
 * The training step of Nyúl–Udupa: for each image, map its landmarks linearly so that the first lands on
 * `scale[0]` and the last on `scale[1]`, then average each landmark over the images. Run it on training
 * images only (of one centre, or pooled from several), then fix the result in the experiment definition.
 * Images whose first and last landmark coincide (constant foreground) carry no shape and are skipped.
 */
export function learnStandardLandmarks(images: Iterable<Image2D>, options: LearnLandmarksOptions): LandmarkConfig {
  checkLandmarkPercentiles(options, 'options');
  checkRange(options.scale, 'options.scale');
  if (options.outputRange !== undefined) checkRange(options.outputRange, 'options.outputRange');
  const [s1, s2] = options.scale;
  const sums = new Float64Array(options.percentiles.length);
  let used = 0;
  let index = 0;
  for (const image of images) {
    let m: number[];
    try {
      m = imageLandmarks(image, options);
    } catch (err) {
      throw new Error(`learnStandardLandmarks: images[${index}]: ${(err as Error).message}`);
    }
    index++;
    const lo = m[0]!;
    const hi = m[m.length - 1]!;
    if (!(hi > lo)) continue;
    for (let i = 0; i < m.length; i++) sums[i]! += s1 + ((m[i]! - lo) / (hi - lo)) * (s2 - s1);
    used++;
  }
  if (used === 0) {
    throw new RangeError(`learnStandardLandmarks: none of the ${index} images has a non-constant foreground; cannot learn landmarks`);
  }
  const standard = Array.from(sums, (s) => s / used);
  standard[0] = s1;
  standard[standard.length - 1] = s2;
  for (let i = 1; i < standard.length; i++) {
    if (!(standard[i]! > standard[i - 1]!)) {
      throw new RangeError(
        `learnStandardLandmarks: percentiles ${options.percentiles[i - 1]} and ${options.percentiles[i]} have the same intensity in every image` +
          ` (${used} used); drop one of them or raise foregroundThreshold`,
      );
    }
  }
  return {
    percentiles: [...options.percentiles],
    standard,
    ...(options.foregroundThreshold !== undefined ? { foregroundThreshold: options.foregroundThreshold } : {}),
    ...(options.outputRange !== undefined ? { outputRange: options.outputRange } : {}),
  };
}

/**
 * The piecewise-linear map from an image's landmarks (`imageLandmarks`) onto `config.standard`: linear
 * between landmarks, the outer segments extended linearly beyond them, clamped to `outputRange`.
 * Landmarks with equal intensities (a partly constant foreground) are merged into one knot at the mean of
 * their standard values, which keeps the map monotone. A fully constant foreground maps to a constant.
 */
export function landmarkMapping(source: readonly number[], config: LandmarkConfig): (value: number) => number {
  validateLandmarkConfig(config);
  const knots = mappingKnots(source, config);
  return (value) => mapValue(value, knots);
}

/**
 * Standardises the image: its own landmarks are mapped onto `config.standard` (see `landmarkMapping`).
 * Returns a copy of the image (other fields, such as `meta`, kept) with new `data`.
 */
export function matchHistogram<T extends Image2D>(image: T, config: LandmarkConfig): T {
  validateLandmarkConfig(config);
  checkImage(image);
  const knots = mappingKnots(percentilesOf(image.data, config.percentiles, config.foregroundThreshold), config);
  const data = new Float32Array(image.data.length);
  mapInto(image.data, data, knots);
  return { ...image, data };
}

interface Knots {
  readonly xs: Float64Array;
  readonly ys: Float64Array;
  /** slopes[i] for [xs[i], xs[i+1]]; slopes[0] also below xs[0], slopes[K-2] above xs[K-1]; empty when K = 1. */
  readonly slopes: Float64Array;
  readonly lo: number;
  readonly hi: number;
}

function mappingKnots(source: readonly number[], config: LandmarkConfig): Knots {
  const { standard } = config;
  if (source.length !== standard.length) {
    throw new RangeError(`source landmarks have ${source.length} values but standard has ${standard.length}; they must have the same length`);
  }
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < source.length; ) {
    const x = source[i]!;
    if (!Number.isFinite(x)) throw new RangeError(`source landmarks[${i}] must be finite, got ${x}`);
    if (i > 0 && x < source[i - 1]!) throw new RangeError(`source landmarks must be non-decreasing, but [${i}] = ${x} < [${i - 1}] = ${source[i - 1]}`);
    let j = i;
    let sum = 0;
    while (j < source.length && source[j] === x) sum += standard[j++]!;
    xs.push(x);
    ys.push(sum / (j - i));
    i = j;
  }
  const span = standard[standard.length - 1]! - standard[0]!;
  const [lo, hi] = config.outputRange ?? [standard[0]! - DEFAULT_OUTPUT_MARGIN * span, standard[standard.length - 1]! + DEFAULT_OUTPUT_MARGIN * span];
  const slopes = new Float64Array(Math.max(xs.length - 1, 0));
  for (let i = 0; i < slopes.length; i++) slopes[i] = (ys[i + 1]! - ys[i]!) / (xs[i + 1]! - xs[i]!);
  return { xs: Float64Array.from(xs), ys: Float64Array.from(ys), slopes, lo, hi };
}

function mapValue(v: number, { xs, ys, slopes, lo, hi }: Knots): number {
  const last = xs.length - 1;
  let y: number;
  if (last === 0) y = ys[0]!;
  else if (v <= xs[0]!) y = ys[0]! + (v - xs[0]!) * slopes[0]!;
  else if (v >= xs[last]!) y = ys[last]! + (v - xs[last]!) * slopes[last - 1]!;
  else {
    // Binary search for xs[a] <= v < xs[b], b = a + 1.
    let a = 0;
    let b = last;
    while (b - a > 1) {
      const mid = (a + b) >> 1;
      if (xs[mid]! <= v) a = mid;
      else b = mid;
    }
    y = ys[a]! + (v - xs[a]!) * slopes[a]!;
  }
  return y < lo ? lo : y > hi ? hi : y;
}

/** Cells of the segment lookup in `mapInto`. */
const SEGMENT_CELLS = 1024;

/**
 * `dst[i] = mapValue(src[i])`, same results, faster: a binary search per pixel mispredicts its branches on
 * noisy data, so a table gives, per cell of [first knot, last knot], the segment at the cell's start; at
 * most a step or two forward then finds the pixel's segment.
 */
function mapInto(src: Float32Array, dst: Float32Array, knots: Knots): void {
  const { xs, ys, slopes, lo, hi } = knots;
  const last = xs.length - 1;
  if (last === 0) {
    dst.fill(Math.min(Math.max(ys[0]!, lo), hi));
    return;
  }
  const x0 = xs[0]!;
  const xl = xs[last]!;
  const perCell = (xl - x0) / SEGMENT_CELLS;
  const segmentAt = new Uint16Array(SEGMENT_CELLS);
  for (let c = 0, s = 0; c < SEGMENT_CELLS; c++) {
    const x = x0 + c * perCell;
    while (s < last - 1 && xs[s + 1]! <= x) s++;
    segmentAt[c] = s;
  }
  const toCell = SEGMENT_CELLS / (xl - x0);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    let y: number;
    if (v <= x0) y = ys[0]! + (v - x0) * slopes[0]!;
    else if (v >= xl) y = ys[last]! + (v - xl) * slopes[last - 1]!;
    else if (v === v) {
      const c = ((v - x0) * toCell) | 0;
      let s = segmentAt[c < SEGMENT_CELLS ? c : SEGMENT_CELLS - 1]!;
      while (s < last - 1 && xs[s + 1]! <= v) s++;
      y = ys[s]! + (v - xs[s]!) * slopes[s]!;
    } else y = v; // NaN stays NaN
    dst[i] = y < lo ? lo : y > hi ? hi : y;
  }
}

/** Percentiles (sorted ascending, in [0, 100]) of the values > threshold, from a HISTOGRAM_BINS histogram. */
function percentilesOf(data: Float32Array, percentiles: readonly number[], threshold = -Infinity): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // NaN fails both comparisons; ±Infinity are excluded.
    if (v > threshold && v < Infinity) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      n++;
    }
  }
  if (n === 0) {
    throw new RangeError(
      `image has no foreground pixels (finite values > foregroundThreshold = ${threshold}) among its ${data.length}; cannot compute landmarks`,
    );
  }
  if (hi === lo) return percentiles.map(() => lo);
  const counts = new Uint32Array(HISTOGRAM_BINS);
  const scale = HISTOGRAM_BINS / (hi - lo);
  // Exact counts at the extremes: clipped air or saturated pixels form a point mass there, and the
  // percentiles inside it must be exactly equal (so the mapping merges them), not spread over a bin.
  let atLo = 0;
  let atHi = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v > threshold && v < Infinity) {
      const bin = ((v - lo) * scale) | 0;
      counts[bin < HISTOGRAM_BINS ? bin : HISTOGRAM_BINS - 1]!++;
      if (v === lo) atLo++;
      else if (v === hi) atHi++;
    }
  }
  // One sweep of the cumulative histogram; within a bin, values are taken as spread uniformly.
  const out: number[] = [];
  let bin = 0;
  let below = 0;
  for (const p of percentiles) {
    const rank = (p / 100) * n;
    if (rank <= atLo || rank >= n - atHi) {
      out.push(rank <= atLo ? lo : hi);
      continue;
    }
    while (bin < HISTOGRAM_BINS - 1 && below + counts[bin]! < rank) below += counts[bin++]!;
    const c = counts[bin]!;
    const within = c > 0 ? Math.min(Math.max((rank - below) / c, 0), 1) : 0;
    out.push(Math.min(lo + (bin + within) / scale, hi));
  }
  return out;
}

function checkLandmarkPercentiles(config: LandmarkPercentiles, field: string): void {
  if (config === null || typeof config !== 'object') throw new TypeError(`${field} must be an object`);
  checkIncreasing(config.percentiles, `${field}.percentiles`);
  config.percentiles.forEach((p, i) => {
    if (p < 0 || p > 100) throw new RangeError(`${field}.percentiles[${i}] must be in [0, 100], got ${p}`);
  });
  const t = config.foregroundThreshold;
  if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t))) {
    throw new RangeError(`${field}.foregroundThreshold must be a finite number when given, got ${String(t)}`);
  }
}

function checkIncreasing(values: readonly number[], field: string): void {
  if (!Array.isArray(values)) throw new TypeError(`${field} must be an array of numbers`);
  if (values.length < 2) throw new RangeError(`${field} must have at least 2 values (the outer landmarks), got ${values.length}`);
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${field}[${i}] must be a finite number, got ${String(v)}`);
    if (i > 0 && !(v > values[i - 1]!)) {
      throw new RangeError(`${field} must be strictly increasing, but [${i}] = ${v} is not greater than [${i - 1}] = ${values[i - 1]}`);
    }
  });
}

function checkRange(range: readonly [number, number], field: string): void {
  if (!Array.isArray(range) || range.length !== 2 || !range.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new TypeError(`${field} must be [low, high] with finite numbers, got ${JSON.stringify(range)}`);
  }
  if (!(range[1] > range[0])) throw new RangeError(`${field} must have low < high, got [${range[0]}, ${range[1]}]`);
}
