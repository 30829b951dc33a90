import { createRandomSource, type RandomSource } from './random';
import { checkSize, meanAndStd, type Size2D } from './types';

/**
 * Light, label-preserving augmentation of preprocessed images (`h * w` Float32Array, row-major). Nothing
 * here looks at labels: a mirrored, slightly shifted, slightly brighter lesion is still the same lesion.
 */
export interface AugmentOptions {
  /** Mirror left–right with probability 0.5 (a left breast looks like a right one). Default true. */
  readonly flip?: boolean;
  /** Whole-pixel shift, uniform in [−maxShift, maxShift] on each axis. Default 2 (pixels). */
  readonly maxShift?: number;
  /**
   * Rotation about the centre, uniform in ±maxRotationDegrees, bilinear. Default 0 (none): mammograms are
   * positioned to a protocol (CC/MLO), and rotating blurs by interpolation and fills the corners with copies
   * of the edge.
   */
  readonly maxRotationDegrees?: number;
  /** Offset uniform in ±brightness × the image's standard deviation. Default 0.05. */
  readonly brightness?: number;
  /** Scale about the image's mean, uniform in [1 − contrast, 1 + contrast]. Default 0.05. */
  readonly contrast?: number;
}

/** The drawn parameters of one augmentation (for logging or replaying). */
export interface AugmentParams {
  readonly flip: boolean;
  /** Shift in pixels (integers when drawn by `sampleAugmentation`), positive = right / down. */
  readonly dx: number;
  readonly dy: number;
  readonly rotationDegrees: number;
  readonly contrast: number;
  /** In units of the image's standard deviation. */
  readonly brightness: number;
}

export const DEFAULT_AUGMENT: Required<AugmentOptions> = { flip: true, maxShift: 2, maxRotationDegrees: 0, brightness: 0.05, contrast: 0.05 };

/**
 * Draws one set of parameters. Always six draws, whatever the options, so switching one kind of
 * augmentation on or off does not change the others' values for the same seed.
 */
export function sampleAugmentation(random: RandomSource, options: AugmentOptions = {}): AugmentParams {
  const o = resolveOptions(options);
  const u = [random(), random(), random(), random(), random(), random()] as const;
  return {
    flip: o.flip && u[0] < 0.5,
    dx: Math.floor(u[1] * (2 * o.maxShift + 1)) - o.maxShift,
    dy: Math.floor(u[2] * (2 * o.maxShift + 1)) - o.maxShift,
    rotationDegrees: symmetric(u[3], o.maxRotationDegrees),
    contrast: 1 + symmetric(u[4], o.contrast),
    brightness: symmetric(u[5], o.brightness),
  };
}

/** Uniform in [−max, max] from u in [0, 1); exactly 0 (not −0) when max is 0. */
function symmetric(u: number, max: number): number {
  return max === 0 ? 0 : (2 * u - 1) * max;
}

/**
 * Applies `params` to an `h * w` image; returns a new array. The output pixel at p samples the input at
 * flip(rotate⁻¹(p − shift)); samples outside the image take the nearest edge value (no artificial border).
 */
export function applyAugmentation(data: Float32Array, size: Size2D, params: AugmentParams): Float32Array {
  checkSize(size, 'size', data);
  const [h, w] = size;
  const out = new Float32Array(data.length);
  const { flip, dx, dy, rotationDegrees } = params;
  if (rotationDegrees === 0 && Number.isInteger(dx) && Number.isInteger(dy)) {
    // Whole-pixel shift (and mirror): plain copies.
    for (let y = 0; y < h; y++) {
      const sy = clampIndex(y - dy, h);
      for (let x = 0; x < w; x++) {
        const sx = clampIndex(x - dx, w);
        out[y * w + x] = data[sy * w + (flip ? w - 1 - sx : sx)]!;
      }
    }
  } else {
    const theta = (rotationDegrees * Math.PI) / 180;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const cx = (w - 1) / 2;
    const cy = (h - 1) / 2;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const u = x - cx - dx;
        const v = y - cy - dy;
        let sx = cos * u + sin * v + cx;
        const sy = -sin * u + cos * v + cy;
        if (flip) sx = w - 1 - sx;
        out[y * w + x] = sampleBilinear(data, h, w, sy, sx);
      }
    }
  }
  if (params.contrast !== 1 || params.brightness !== 0) {
    const { mean, std } = meanAndStd(data);
    const offset = mean + params.brightness * std;
    for (let i = 0; i < out.length; i++) out[i] = (out[i]! - mean) * params.contrast + offset;
  }
  return out;
}

/** One random augmentation of one image (`sampleAugmentation` then `applyAugmentation`). */
export function augment(data: Float32Array, size: Size2D, random: RandomSource, options: AugmentOptions = {}): Float32Array {
  return applyAugmentation(data, size, sampleAugmentation(random, options));
}

/**
 * Augments every image of a batch (`n * h * w` values, as from `preprocessBatch`), each with its own
 * draws, into a new array. Give a different seed per epoch (e.g. `deriveSeed(seed, 'augment', epoch)`)
 * to see different variants each epoch, reproducibly.
 */
export function augmentBatch(batch: Float32Array, size: Size2D, seed: number | string | RandomSource, options: AugmentOptions = {}): Float32Array {
  checkSize(size, 'size');
  resolveOptions(options);
  const pixels = size[0] * size[1];
  if (batch.length % pixels !== 0) {
    throw new RangeError(`batch has ${batch.length} values, not a multiple of size [${size[0]}, ${size[1]}] = ${pixels} per image`);
  }
  const random = typeof seed === 'function' ? seed : createRandomSource(seed);
  const out = new Float32Array(batch.length);
  for (let start = 0; start < batch.length; start += pixels) {
    out.set(augment(batch.subarray(start, start + pixels), size, random, options), start);
  }
  return out;
}

/** Left–right mirror of an `h * w` image; its own inverse. */
export function flipHorizontal(data: Float32Array, size: Size2D): Float32Array {
  return applyAugmentation(data, size, { flip: true, dx: 0, dy: 0, rotationDegrees: 0, contrast: 1, brightness: 0 });
}

function resolveOptions(options: AugmentOptions): Required<AugmentOptions> {
  const o = { ...DEFAULT_AUGMENT, ...options };
  if (typeof o.flip !== 'boolean') throw new TypeError(`options.flip must be a boolean, got ${String(o.flip)}`);
  if (!Number.isInteger(o.maxShift) || o.maxShift < 0) throw new RangeError(`options.maxShift must be a non-negative integer (pixels), got ${o.maxShift}`);
  for (const [field, value, max] of [
    ['maxRotationDegrees', o.maxRotationDegrees, 45],
    ['brightness', o.brightness, 1],
    ['contrast', o.contrast, 0.5],
  ] as const) {
    if (typeof value !== 'number' || !(value >= 0 && value <= max)) {
      throw new RangeError(`options.${field} must be in [0, ${max}] (light augmentation), got ${String(value)}`);
    }
  }
  return o;
}

function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

function sampleBilinear(data: Float32Array, h: number, w: number, y: number, x: number): number {
  const yc = y < 0 ? 0 : y > h - 1 ? h - 1 : y;
  const xc = x < 0 ? 0 : x > w - 1 ? w - 1 : x;
  const y0 = Math.floor(yc);
  const x0 = Math.floor(xc);
  const y1 = y0 + 1 < h ? y0 + 1 : y0;
  const x1 = x0 + 1 < w ? x0 + 1 : x0;
  const ty = yc - y0;
  const tx = xc - x0;
  const top = data[y0 * w + x0]! * (1 - tx) + data[y0 * w + x1]! * tx;
  const bottom = data[y1 * w + x0]! * (1 - tx) + data[y1 * w + x1]! * tx;
  return top * (1 - ty) + bottom * ty;
}
