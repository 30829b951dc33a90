import { checkImage, checkSize, type Image2D, type Size2D } from './types';

/**
 * Resizes a grey image to `[height, width]`, separably (rows, then columns), each axis with its own rule:
 * - enlarging (or same size): bilinear interpolation with pixel centres at `i + 0.5` (no corner alignment,
 *   like TensorFlow's `resizeBilinear(alignCorners=false, halfPixelCenters=true)`), edges clamped; same size
 *   is an exact copy;
 * - shrinking: area averaging (each output pixel is the mean of the input area it covers, partial pixels
 *   weighted by their overlap, like OpenCV's INTER_AREA). Plain bilinear would sample 2 of every N input
 *   pixels when shrinking by N and alias fine structure (calcifications, noise); area averaging low-passes
 *   first. An exact factor of 2 gives the 2×2 block mean.
 * Returns a new image; the input is not modified.
 */
export function resize(image: Image2D, size: Size2D): Image2D {
  checkImage(image);
  checkSize(size, 'size');
  const [outH, outW] = size;
  const data = new Float32Array(outH * outW);
  resizeInto(image, size, data);
  return { width: outW, height: outH, data };
}

/** As `resize`, writing into `out` (length `h * w`), e.g. a slice of a batch buffer. Does not validate. */
export function resizeInto(image: Image2D, size: Size2D, out: Float32Array): void {
  const { width: inW, height: inH, data } = image;
  const [outH, outW] = size;
  const cols = axisWeights(inW, outW);
  const rows = axisWeights(inH, outH);
  // Pass 1: every input row → outW columns.
  const tmp = new Float64Array(inH * outW);
  for (let y = 0; y < inH; y++) {
    const rowIn = y * inW;
    const rowTmp = y * outW;
    for (let ox = 0; ox < outW; ox++) {
      const start = rowIn + cols.start[ox]!;
      const w0 = cols.offset[ox]!;
      const n = cols.offset[ox + 1]! - w0;
      let acc = 0;
      for (let k = 0; k < n; k++) acc += cols.weights[w0 + k]! * data[start + k]!;
      tmp[rowTmp + ox] = acc;
    }
  }
  // Pass 2: outH output rows, each a weighted sum of whole tmp rows (contiguous, cache-friendly).
  const acc = new Float64Array(outW);
  for (let oy = 0; oy < outH; oy++) {
    acc.fill(0);
    const start = rows.start[oy]!;
    const w0 = rows.offset[oy]!;
    const n = rows.offset[oy + 1]! - w0;
    for (let k = 0; k < n; k++) {
      const w = rows.weights[w0 + k]!;
      const row = (start + k) * outW;
      for (let x = 0; x < outW; x++) acc[x]! += w * tmp[row + x]!;
    }
    out.set(acc, oy * outW);
  }
}

/** Per output index: the first input index and the weights of consecutive inputs (`offset[o]..offset[o+1]`). */
interface AxisWeights {
  readonly start: Int32Array;
  readonly offset: Int32Array;
  readonly weights: Float64Array;
}

const axisCache = new Map<string, AxisWeights>();
const AXIS_CACHE_LIMIT = 64;

function axisWeights(inSize: number, outSize: number): AxisWeights {
  const key = `${inSize}:${outSize}`;
  const cached = axisCache.get(key);
  if (cached !== undefined) return cached;
  const weights = outSize < inSize ? areaWeights(inSize, outSize) : bilinearWeights(inSize, outSize);
  if (axisCache.size >= AXIS_CACHE_LIMIT) axisCache.delete(axisCache.keys().next().value!);
  axisCache.set(key, weights);
  return weights;
}

function bilinearWeights(inSize: number, outSize: number): AxisWeights {
  const start = new Int32Array(outSize);
  const offset = Int32Array.from({ length: outSize + 1 }, (_, o) => (inSize === 1 ? o : 2 * o));
  if (inSize === 1) return { start, offset, weights: new Float64Array(outSize).fill(1) };
  const scale = inSize / outSize;
  const weights = new Float64Array(2 * outSize);
  for (let o = 0; o < outSize; o++) {
    const src = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSize - 1);
    // Two taps i0, i0 + 1, both inside the row (at the last pixel: i0 = inSize - 2 with t = 1).
    const i0 = Math.min(Math.floor(src), inSize - 2);
    const t = src - i0;
    start[o] = i0;
    weights[2 * o] = 1 - t;
    weights[2 * o + 1] = t;
  }
  return { start, offset, weights };
}

function areaWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const start = new Int32Array(outSize);
  const offset = new Int32Array(outSize + 1);
  const list: number[] = [];
  for (let o = 0; o < outSize; o++) {
    const a = o * scale;
    const b = Math.min((o + 1) * scale, inSize);
    const first = Math.floor(a);
    const last = Math.min(Math.ceil(b) - 1, inSize - 1);
    start[o] = first;
    offset[o] = list.length;
    for (let i = first; i <= last; i++) list.push((Math.min(i + 1, b) - Math.max(i, a)) / scale);
  }
  offset[outSize] = list.length;
  return { start, offset, weights: Float64Array.from(list) };
}
