import { checkUpdates, sortPrefix, type CentreUpdate } from './update';

/**
 * Coordinate-wise robust means. Each needs every update's value at a coordinate, so the updates are buffered
 * (by reference); per coordinate the n values go to one reused float64 scratch buffer and are sorted there.
 * numExamples is ignored, as in Flower. Updates are assumed finite (the aggregator rejects NaN/Infinity
 * before a strategy sees them).
 */

/** Calls `reduce(sortedValues, n)` for every coordinate and stores its result, rounded to float32. */
function eachCoordinateSorted(
  updates: readonly CentreUpdate[],
  reduce: (sorted: Float64Array, n: number) => number,
): Float32Array[] {
  const lengths = checkUpdates(updates, 'a coordinate-wise strategy');
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
export function fedMedian(updates: readonly CentreUpdate[]): Float32Array[] {
  return eachCoordinateSorted(updates, medianOfSorted);
}

/** Values dropped at each end by the trimmed mean of n values: ⌊beta·n⌋ (Flower `_trim_mean`, after scipy `trim_mean`). */
export function trimmedCount(beta: number, n: number): number {
  return Math.trunc(beta * n);
}

/**
 * FedTrimmedAvg — Flower `aggregate_trimmed_avg(results, beta)`: per coordinate, drop the ⌊beta·n⌋ lowest
 * and ⌊beta·n⌋ highest values and average the rest (unweighted). `beta` in [0, 0.5), so something is always left.
 */
export function fedTrimmedAvg(updates: readonly CentreUpdate[], beta: number): Float32Array[] {
  const cut = trimmedCount(beta, updates.length);
  return eachCoordinateSorted(updates, (sorted, n) => {
    let sum = 0;
    for (let k = cut; k < n - cut; k++) sum += sorted[k];
    return sum / (n - 2 * cut);
  });
}
