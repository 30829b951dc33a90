import { AggregationError, checkUpdate, checkUpdates, tensorLengths, type CentreUpdate } from './update';

/**
 * Streaming FedAvg: the example-weighted mean Σ nᵢ·wᵢ / Σ nᵢ, as Flower's `aggregate` (and, up to float64
 * rounding, `aggregate_inplace`, which scales by nᵢ/Σn first; the total is not known while streaming).
 *
 * Each `add` folds one update into a float64 running sum and keeps no reference to it, so memory is one
 * float64 copy of the model whatever the number of centres. Flower computes in the dtype it is given; fed
 * float32 it would sum in float32 — accumulating in float64 is its float64 path, and the order of arrival
 * changes the result only by float64 rounding (far below the final float32 rounding).
 */
export class FedAvgAccumulator {
  private readonly sums: Float64Array[];
  private readonly lengths: number[];
  private examples = 0;
  private updates = 0;
  private finished = false;

  /** `model`: any model with the expected layout (usually the current global weights); only lengths are read. */
  constructor(model: readonly Float32Array[]) {
    this.lengths = tensorLengths(model);
    this.sums = this.lengths.map((n) => new Float64Array(n));
  }

  /** Updates folded in so far. */
  get count(): number {
    return this.updates;
  }

  /** Σ numExamples so far. */
  get totalExamples(): number {
    return this.examples;
  }

  add(update: CentreUpdate): void {
    if (this.finished) throw new AggregationError('FedAvg: add() after the aggregate was taken');
    checkUpdate(update, this.lengths, this.updates);
    const n = update.numExamples;
    for (let t = 0; t < this.sums.length; t++) {
      const sum = this.sums[t];
      const w = update.tensors[t];
      for (let i = 0; i < sum.length; i++) sum[i] += w[i] * n;
    }
    this.examples += n;
    this.updates++;
  }

  /** The weighted mean in float64 (for the server optimisers, which subtract it from the global weights). Ends the accumulator. */
  meanFloat64(): Float64Array[] {
    if (this.finished) throw new AggregationError('FedAvg: the aggregate was already taken');
    if (this.updates === 0) throw new AggregationError('FedAvg needs at least 1 update, got none');
    this.finished = true;
    const total = this.examples;
    for (const sum of this.sums) for (let i = 0; i < sum.length; i++) sum[i] /= total;
    return this.sums;
  }

  /** The weighted mean, rounded once to float32. Ends the accumulator. */
  finish(): Float32Array[] {
    return this.meanFloat64().map((m) => new Float32Array(m));
  }
}

/** FedAvg of a batch — Flower `aggregate(results)`; same as streaming the updates through a FedAvgAccumulator. */
export function fedAvg(updates: readonly CentreUpdate[]): Float32Array[] {
  checkUpdates(updates, 'FedAvg');
  const acc = new FedAvgAccumulator(updates[0].tensors);
  for (const u of updates) acc.add(u);
  return acc.finish();
}

/** Example-weighted mean of `updates[i]` for i in `indices`, float64 sums rounded to float32 (MultiKrum's last step). */
export function weightedMeanOf(updates: readonly CentreUpdate[], indices: readonly number[]): Float32Array[] {
  const acc = new FedAvgAccumulator(updates[indices[0]].tensors);
  for (const i of indices) acc.add(updates[i]);
  return acc.finish();
}
