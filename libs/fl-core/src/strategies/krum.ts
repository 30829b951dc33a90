import { distancesFit, squaredDistancesSimd } from '../kernels/distances';
import { kernelsAvailable } from '../kernels/runtime';
import { medianOfSorted } from './coordinate-wise';
import { weightedMeanOf } from './fedavg';
import { AggregationError, checkUpdates, sortPrefix, type CentreUpdate, type ImplementationOptions } from './update';

/**
 * Krum, MultiKrum and Bulyan (Flower `aggregate_krum`, `aggregate_bulyan`). All three rank updates by their
 * Krum score: the sum of squared L2 distances (over all tensors) to the n − f − 2 nearest other updates.
 * Updates are buffered by reference; the pairwise distances can be computed as updates arrive
 * (`KrumDistances.add`), n²/2 passes over the model in total.
 *
 * Ties (equal scores) go to the update added first, as Flower's argmin / argsort over its results list: add
 * updates in a canonical order (e.g. by centre id) if the choice must not depend on arrival order.
 */

/** The outcome of a selecting strategy: the aggregate and which updates (indices in input order) it kept. */
export interface SelectionAggregate {
  readonly weights: Float32Array[];
  /** Krum: the chosen update; MultiKrum: the kept ones, best score first; Bulyan: the θ selected, in selection order. */
  readonly selected: number[];
}

/** Squared L2 distance between two models, summed over tensors in float64 (Flower `_compute_distances`). */
export function squaredDistance(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let sum = 0;
  for (let t = 0; t < a.length; t++) {
    const x = a[t];
    const y = b[t];
    for (let i = 0; i < x.length; i++) {
      const d = x[i] - y[i];
      sum += d * d;
    }
  }
  return sum;
}

/**
 * Pairwise squared distances of the updates added so far (row-major n×n, grown as updates arrive). Each `add`
 * computes the new update's distances to all earlier ones — with 'simd', in one blocked pass that reads every
 * earlier update once (kernels/distances.ts; equal to the reference up to float64 summation order).
 */
export class KrumDistances {
  private readonly models: (readonly Float32Array[])[] = [];
  private readonly rows: number[][] = [];
  private readonly simd: boolean;

  constructor(options: ImplementationOptions = {}) {
    this.simd = (options.implementation ?? 'simd') === 'simd' && kernelsAvailable();
  }

  get count(): number {
    return this.models.length;
  }

  add(tensors: readonly Float32Array[]): void {
    const row =
      this.simd && distancesFit(this.models.length)
        ? squaredDistancesSimd(tensors, this.models)
        : this.models.map((model) => squaredDistance(tensors, model));
    row.forEach((d, j) => this.rows[j].push(d));
    row.push(0);
    this.rows.push(row);
    this.models.push(tensors);
  }

  get(i: number, j: number): number {
    return this.rows[i][j];
  }

  static of(updates: readonly CentreUpdate[], options: ImplementationOptions = {}): KrumDistances {
    const d = new KrumDistances(options);
    for (const u of updates) d.add(u.tensors);
    return d;
  }
}

/**
 * Krum scores of the updates in `among` (indices), against each other only: for each, the sum of its
 * max(1, m − f − 2) smallest distances to the others, m = among.length (Flower sorts the whole row, self
 * included at distance 0, and skips the first entry).
 */
export function krumScores(distances: KrumDistances, among: readonly number[], numMalicious: number): Float64Array {
  const m = among.length;
  const closest = Math.min(Math.max(1, m - numMalicious - 2), m - 1);
  const row = new Float64Array(m);
  const scores = new Float64Array(m);
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) row[b] = distances.get(among[a], among[b]);
    sortPrefix(row, m);
    let score = 0;
    for (let k = 1; k <= closest; k++) score += row[k];
    scores[a] = score;
  }
  return scores;
}

function argmin(values: Float64Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] < values[best]) best = i;
  return best;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const copyModel = (tensors: readonly Float32Array[]): Float32Array[] => tensors.map((t) => t.slice());

/** Krum needs n > 2f + 2 (Blanchard et al.); Flower does not check, it just computes max(1, n − f − 2) neighbours. */
export function requireKrumCount(strategy: string, n: number, numMalicious: number): void {
  if (n <= 2 * numMalicious + 2) {
    throw new AggregationError(
      `${strategy} with num_malicious_clients=${numMalicious} needs more than 2·${numMalicious} + 2 = ${2 * numMalicious + 2} updates, got ${n}`,
    );
  }
}

/** Krum — Flower `aggregate_krum(results, f, 0)`: a copy of the update with the lowest score. */
export function krum(updates: readonly CentreUpdate[], numMalicious: number, distances?: KrumDistances): SelectionAggregate {
  checkUpdates(updates, 'Krum');
  requireKrumCount('Krum', updates.length, numMalicious);
  const best = argmin(krumScores(distances ?? KrumDistances.of(updates), range(updates.length), numMalicious));
  return { weights: copyModel(updates[best].tensors), selected: [best] };
}

/**
 * MultiKrum — Flower `aggregate_krum(results, f, to_keep)`: the numToKeep updates with the lowest scores,
 * averaged weighted by numExamples (Flower's `aggregate`). Needs n > 2f + 2 and numToKeep ≤ n − f.
 */
export function multiKrum(
  updates: readonly CentreUpdate[],
  numMalicious: number,
  numToKeep: number,
  distances?: KrumDistances,
): SelectionAggregate {
  checkUpdates(updates, 'MultiKrum');
  const n = updates.length;
  requireKrumCount('MultiKrum', n, numMalicious);
  if (numToKeep > n - numMalicious) {
    throw new AggregationError(
      `MultiKrum with num_clients_to_keep=${numToKeep} and num_malicious_clients=${numMalicious} needs at least ` +
        `${numToKeep} + ${numMalicious} = ${numToKeep + numMalicious} updates (keeping more than n − f could keep a malicious one), got ${n}`,
    );
  }
  const scores = krumScores(distances ?? KrumDistances.of(updates), range(n), numMalicious);
  // stable ascending order: Flower's argsort (insertion sort at these sizes) then its reversed tail
  const order = range(n).sort((a, b) => scores[a] - scores[b] || a - b);
  const selected = order.slice(0, numToKeep);
  return { weights: weightedMeanOf(updates, selected), selected };
}

/** Bulyan needs n ≥ 4f + 3 (El Mhamdi et al.; Flower raises ValueError below it). */
export function requireBulyanCount(n: number, numMalicious: number): void {
  if (n < 4 * numMalicious + 3) {
    throw new AggregationError(
      `Bulyan with num_malicious_clients=${numMalicious} needs at least 4·${numMalicious} + 3 = ${4 * numMalicious + 3} updates, got ${n}`,
    );
  }
}

/**
 * Bulyan — Flower `aggregate_bulyan(results, f, aggregate_krum, to_keep=0)`:
 * 1. select θ = n − 2f updates by repeated Krum, each time over the updates not yet selected;
 * 2. per coordinate, take the median of the θ selected values, then the mean of the β = θ − 2f values
 *    closest to it (unweighted).
 * Where two values are exactly equally far from the median and only one fits in β, Flower's `argpartition`
 * leaves the choice unspecified; this keeps the lower one.
 */
export function bulyan(updates: readonly CentreUpdate[], numMalicious: number, distances?: KrumDistances): SelectionAggregate {
  const lengths = checkUpdates(updates, 'Bulyan');
  const n = updates.length;
  requireBulyanCount(n, numMalicious);
  const d = distances ?? KrumDistances.of(updates);
  const theta = n - 2 * numMalicious;
  const beta = theta - 2 * numMalicious;

  const remaining = range(n);
  const selected: number[] = [];
  for (let s = 0; s < theta; s++) {
    const best = argmin(krumScores(d, remaining, numMalicious));
    selected.push(remaining[best]);
    remaining.splice(best, 1);
  }

  const scratch = new Float64Array(theta);
  const weights = lengths.map((length, t) => {
    const columns = selected.map((k) => updates[k].tensors[t]);
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      for (let k = 0; k < theta; k++) scratch[k] = columns[k][i];
      sortPrefix(scratch, theta);
      const median = medianOfSorted(scratch, theta);
      // the β values closest to the median are a contiguous run of the sorted ones: shrink from the farther end
      let lo = 0;
      let hi = theta - 1;
      while (hi - lo + 1 > beta) {
        if (median - scratch[lo] > scratch[hi] - median) lo++;
        else hi--;
      }
      let sum = 0;
      for (let k = lo; k <= hi; k++) sum += scratch[k];
      out[i] = sum / beta;
    }
    return out;
  });
  return { weights, selected };
}
