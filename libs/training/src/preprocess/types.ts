/**
 * The minimal structural shapes this folder works on. The data readers (libs/training/src/data) produce
 * richer objects (`GrayImage` with `meta`, examples with `file`, `view`, `image`); TypeScript's structural
 * typing lets those be passed here without this folder importing them.
 */

/** A single-channel image: `data[y * width + x]`, row-major, `data.length === width * height`. */
export interface Image2D {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** `[height, width]`, the order of a `[h, w, 1]` tensor shape. */
export type Size2D = readonly [height: number, width: number];

/** Throws unless `value` is a positive integer; `field` names it in the message. */
export function checkPositiveInteger(value: number, field: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${field} must be a positive integer, got ${value}`);
}

/** Throws unless the image's width/height are positive integers and `data.length === width * height`. */
export function checkImage(image: Image2D, field = 'image'): void {
  checkPositiveInteger(image.width, `${field}.width`);
  checkPositiveInteger(image.height, `${field}.height`);
  if (!(image.data instanceof Float32Array)) throw new TypeError(`${field}.data must be a Float32Array`);
  if (image.data.length !== image.width * image.height) {
    throw new RangeError(
      `${field}.data has ${image.data.length} values but width * height = ${image.width} * ${image.height} = ${image.width * image.height}`,
    );
  }
}

/** Throws unless `size` is `[h, w]` with positive integers and, when given, `data.length === h * w`. */
export function checkSize(size: Size2D, field: string, data?: Float32Array, dataField = 'data'): void {
  if (!Array.isArray(size) || size.length !== 2) throw new TypeError(`${field} must be [height, width]`);
  checkPositiveInteger(size[0], `${field}[0] (height)`);
  checkPositiveInteger(size[1], `${field}[1] (width)`);
  if (data !== undefined && data.length !== size[0] * size[1]) {
    throw new RangeError(`${dataField} has ${data.length} values but ${field} = [${size[0]}, ${size[1]}] needs ${size[0] * size[1]}`);
  }
}

/** Count, mean and (population) standard deviation of the values > `threshold` (default: all but NaN and −∞). */
export function meanAndStd(data: Float32Array, threshold = -Infinity): { n: number; mean: number; std: number } {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v > threshold) {
      n++;
      sum += v;
      sumSq += v * v;
    }
  }
  const mean = n > 0 ? sum / n : Number.NaN;
  return { n, mean, std: Math.sqrt(Math.max(sumSq / n - mean * mean, 0)) };
}
