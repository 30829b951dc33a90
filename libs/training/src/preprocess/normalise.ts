import { matchHistogram, validateLandmarkConfig, type LandmarkConfig } from './histogram';
import { resizeInto } from './resize';
import { checkImage, checkSize, meanAndStd, type Image2D, type Size2D } from './types';

/**
 * Per-image intensity normalisation, the last step before the network:
 * - `zscore` (the default): subtract the mean, divide by the standard deviation, both over the
 *   foreground (values > `foregroundThreshold`, default: all pixels) and applied to every pixel. Chosen as
 *   default because one extreme pixel (a burned-in marker, a clip) barely moves it, whereas it squashes
 *   every other pixel under min-max; because zero-mean unit-variance inputs are what Glorot-initialised
 *   convolutions assume; and because it does not depend on the scale picked for the landmarks. After
 *   Nyúl–Udupa matching it is close to one shared affine map (the foregrounds already agree), so it keeps
 *   the standardisation; without landmarks it is the only correction for scanner differences.
 *   A constant foreground (standard deviation < 1e-8) is only centred.
 * - `minmax`: to [0, 1] by the image's own minimum and maximum (constant image → zeros). Bounded, but at
 *   the mercy of the extremes.
 * - `none`: values as they are (e.g. already on the landmarks' standard scale).
 */
export type Normalisation =
  | { readonly method: 'zscore'; readonly foregroundThreshold?: number }
  | { readonly method: 'minmax' }
  | { readonly method: 'none' };

export const DEFAULT_NORMALISATION: Normalisation = { method: 'zscore' };

const MIN_STD = 1e-8;

/** Normalises `data` in place and returns it. */
export function normaliseInPlace(data: Float32Array, normalisation: Normalisation = DEFAULT_NORMALISATION): Float32Array {
  switch (normalisation.method) {
    case 'none':
      return data;
    case 'minmax': {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const scale = hi > lo ? 1 / (hi - lo) : 0;
      for (let i = 0; i < data.length; i++) data[i] = (data[i]! - lo) * scale;
      return data;
    }
    case 'zscore': {
      const threshold = normalisation.foregroundThreshold ?? -Infinity;
      if (!(typeof threshold === 'number') || Number.isNaN(threshold) || threshold === Infinity) {
        throw new RangeError(`normalisation.foregroundThreshold must be a finite number when given, got ${String(threshold)}`);
      }
      const { n, mean, std } = meanAndStd(data, threshold);
      if (n === 0) {
        throw new RangeError(`normalisation: no pixel above foregroundThreshold = ${threshold} among ${data.length}; cannot compute the z-score`);
      }
      const scale = std > MIN_STD ? 1 / std : 1;
      for (let i = 0; i < data.length; i++) data[i] = (data[i]! - mean) * scale;
      return data;
    }
    default: {
      const unknown: never = normalisation;
      throw new RangeError(`normalisation.method must be 'zscore', 'minmax' or 'none', got ${JSON.stringify((unknown as { method: unknown }).method)}`);
    }
  }
}

export interface PreprocessOptions {
  /** [height, width] of the model input. */
  readonly size: Size2D;
  /** Nyúl–Udupa landmarks from the experiment definition; without them no histogram matching. */
  readonly landmarks?: LandmarkConfig;
  /** Default `DEFAULT_NORMALISATION` (z-score over all pixels). */
  readonly normalisation?: Normalisation;
}

/**
 * Histogram matching (if `landmarks`) → resize to `size` → normalisation; returns `h * w` values, row-major,
 * ready for a `[h, w, 1]` tensor. The order matters:
 * - matching first, at native resolution, because the landmarks (and `foregroundThreshold`) were learnt
 *   from native-resolution pixel distributions (`learnStandardLandmarks` on the readers' images); resizing
 *   averages neighbours, which narrows the histogram, thins its tails and mixes breast with background at
 *   the skin line, so a resized image's percentiles are not the ones the standard describes. And the
 *   mapping is non-linear: applied after averaging it would map blends of tissues, not tissues.
 * - normalisation last, so that what the network sees has exactly the stated statistics.
 */
export function preprocessImage(image: Image2D, options: PreprocessOptions): Float32Array {
  checkSize(options.size, 'options.size');
  const out = new Float32Array(options.size[0] * options.size[1]);
  preprocessInto(image, options, out);
  return out;
}

/** `preprocessImage` for each image, concatenated: `n * h * w` values for a `[n, h, w, 1]` tensor. */
export function preprocessBatch(images: readonly Image2D[], options: PreprocessOptions): Float32Array {
  checkSize(options.size, 'options.size');
  if (options.landmarks !== undefined) validateLandmarkConfig(options.landmarks, 'options.landmarks');
  const pixels = options.size[0] * options.size[1];
  const out = new Float32Array(images.length * pixels);
  images.forEach((image, i) => {
    try {
      preprocessInto(image, options, out.subarray(i * pixels, (i + 1) * pixels));
    } catch (err) {
      throw new Error(`preprocessBatch: images[${i}]: ${(err as Error).message}`);
    }
  });
  return out;
}

function preprocessInto(image: Image2D, options: PreprocessOptions, out: Float32Array): void {
  checkImage(image);
  const matched = options.landmarks !== undefined ? matchHistogram(image, options.landmarks) : image;
  resizeInto(matched, options.size, out);
  normaliseInPlace(out, options.normalisation);
}
