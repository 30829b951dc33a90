import { coordinateWiseFits, coordinateWiseSimd, type SortedReduction } from '../kernels/coordinate-wise';
import { kernelsAvailable } from '../kernels/runtime';
import { checkUpdates, sortPrefix, type CentreUpdate, type ImplementationOptions } from './update';

/**
 * Coordinate-wise robust means. Each needs every update's value at a coordinate, so the updates are buffered
 * (by reference). The reference: per coordinate the n values go to one reused float64 scratch buffer and are
 * sorted there. The default ('simd'): a comparator network over blocks of columns (kernels/coordinate-wise.ts),
 * same bits. numExamples is ignored, as in Flower. Updates are assumed finite (the aggregator rejects
 * NaN/Infinity before a strategy sees them).
 */

const useSimd = (options: ImplementationOptions, n: number): boolean =>
  (options.implementation ?? 'simd') === 'simd' && kernelsAvailable() && coordinateWiseFits(n);

function coordinateWise(
  updates: readonly CentreUpdate[],
  strategy: string,
  options: ImplementationOptions,
  reduction: SortedReduction,
  reduce: (sorted: Float64Array, n: number) => number,
): Float32Array[] {
  const lengths = checkUpdates(updates, strategy);
  return useSimd(options, updates.length)
    ? coordinateWiseSimd(
        updates.map((u) => u.tensors),
        lengths,
        reduction,
      )
    : eachCoordinateSorted(updates, lengths, reduce);
}

/** Calls `reduce(sortedValues, n)` for every coordinate and stores its result, rounded to float32. */
function eachCoordinateSorted(
  updates: readonly CentreUpdate[],
  lengths: readonly number[],
  reduce: (sorted: Float64Array, n: number) => number,
): Float32Array[] {
  const n = updates.length;
  const scratch = new Float64Array(n);
  return lengths.map((length, t) => {
    const columns = updates.map((u) => u.tensors[t]);
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      for (let k = 0; k < n; k++) scratch[k] = columns[k][i];
      sortPrefix(scratch, n);
      out[i] = reduce(scratch, n);
    }
    return out;
  });
}

/** Median of sorted[0..n): the middle value, or the mean of the two middle ones (numpy `median`). */
export function medianOfSorted(sorted: Float64Array, n: number): number {
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** FedMedian — Flower `aggregate_median`: coordinate-wise median; for an even count, the mean of the two middle values. */
export function fedMedian(updates: readonly CentreUpdate[], options: ImplementationOptions = {}): Float32Array[] {
  return coordinateWise(updates, 'FedMedian', options, { kind: 'median' }, medianOfSorted);
}

/** Values dropped at each end by the trimmed mean of n values: ⌊beta·n⌋ (Flower `_trim_mean`, after scipy `trim_mean`). */
export function trimmedCount(beta: number, n: number): number {
  return Math.trunc(beta * n);
}

/**
 * FedTrimmedAvg — Flower `aggregate_trimmed_avg(results, beta)`: per coordinate, drop the ⌊beta·n⌋ lowest
 * and ⌊beta·n⌋ highest values and average the rest (unweighted). `beta` in [0, 0.5), so something is always left.
 */
export function fedTrimmedAvg(updates: readonly CentreUpdate[], beta: number, options: ImplementationOptions = {}): Float32Array[] {
  const cut = trimmedCount(beta, updates.length);
  return coordinateWise(updates, 'FedTrimmedAvg', options, { kind: 'trimmed', cut }, (sorted, n) => {
    let sum = 0;
    for (let k = cut; k < n - cut; k++) sum += sorted[k];
    return sum / (n - 2 * cut);
  });
}
