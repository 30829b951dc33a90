import { networkTable } from './networks';
import { Layout, MAX_KERNEL_MEMORY, scratchInstance } from './runtime';

/**
 * FedMedian and FedTrimmedAvg on the kernels. The model is cut into blocks of B coordinates; for a block,
 * each update's values are copied into one row of a staging area (n rows, cache-sized), a comparator network
 * sorts every column in place (`compareExchange`, 4 columns per SIMD instruction), and the result is read off
 * the sorted rows: the middle row (odd n), the float64 mean of the two middle rows (even n), or the float64
 * sum of the kept rows divided by their count, in sorted order (trimmed mean) — the reference's operations on
 * the same sorted values, hence the same bits. (The one difference: where +0 and −0 tie at the median, which
 * of the two zeros comes out may differ; they compare equal and numpy leaves that order unspecified too.)
 */

/** What to compute from the sorted values of each coordinate. */
export type SortedReduction = { readonly kind: 'median' } | { readonly kind: 'trimmed'; readonly cut: number };

/** Staging area per block: about this many bytes of rows, so a block stays in L2 while its network runs. */
const BLOCK_BYTES = 128 * 1024;

/** Block length (coordinates per row, a multiple of 8: the network kernel takes two groups of 4 at a time) for n rows. */
export function blockLength(n: number): number {
  return Math.max(64, Math.min(8192, Math.floor(BLOCK_BYTES / (4 * n) / 8) * 8));
}

/** Whether n updates fit the staging memory (always, short of tens of thousands of centres). */
export function coordinateWiseFits(n: number): boolean {
  return n * blockLength(n) * 4 + 2 * 1024 * 1024 < MAX_KERNEL_MEMORY;
}

/**
 * Applies `reduction` to every coordinate of `columns` (columns[j][t] = update j's tensor t) and returns one
 * Float32Array per tensor.
 */
export function coordinateWiseSimd(columns: readonly (readonly Float32Array[])[], lengths: readonly number[], reduction: SortedReduction): Float32Array[] {
  const n = columns.length;
  const block = blockLength(n);
  const stride = block * 4;
  const [from, to] = reduction.kind === 'median' ? (n % 2 === 1 ? [n >> 1, (n >> 1) + 1] : [(n >> 1) - 1, (n >> 1) + 1]) : [reduction.cut, n - reduction.cut];
  const network = networkTable(n, from, to, stride);
  const layout = new Layout();
  const table = layout.take(network.byteLength);
  const rows = layout.take(n * stride);
  const out = layout.take(stride);
  const { f32, i32, kernels } = scratchInstance(layout.size);
  i32.set(network, table / 4);
  const pairs = network.length / 2;
  const row = (r: number) => rows + r * stride;

  return lengths.map((length, t) => {
    const result = new Float32Array(length);
    for (let o = 0; o < length; o += block) {
      const m = Math.min(block, length - o);
      const groups = Math.ceil(m / 4);
      for (let j = 0; j < n; j++) f32.set(columns[j][t].subarray(o, o + m), row(j) / 4);
      kernels.compareExchange(rows, table, pairs, groups + (groups % 2)); // an odd last group pairs with stale lanes in the row
      let from32: number;
      if (reduction.kind === 'median' && n % 2 === 1) {
        from32 = row(n >> 1) / 4;
      } else {
        if (reduction.kind === 'median') kernels.meanOfTwo(row((n >> 1) - 1), row(n >> 1), out, groups);
        else kernels.meanOfRows(row(from), to - from, stride, out, groups, to - from);
        from32 = out / 4;
      }
      result.set(f32.subarray(from32, from32 + m), o);
    }
    return result;
  });
}
