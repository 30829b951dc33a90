import { SimdFold } from '../kernels/fold';
import { kernelsAvailable } from '../kernels/runtime';
import { AggregationError, checkUpdate, checkUpdates, tensorLengths, type CentreUpdate, type ImplementationOptions } from './update';

/**
 * Streaming FedAvg: the example-weighted mean Σ nᵢ·wᵢ / Σ nᵢ, as Flower's `aggregate` (and, up to float64
 * rounding, `aggregate_inplace`, which scales by nᵢ/Σn first; the total is not known while streaming).
 *
 * Updates are folded into a float64 running sum in batches (at most FOLD_BATCH held by reference, none kept
 * once its batch is folded), so memory is bounded by a constant number of models whatever the number of centres. Flower computes in the dtype it is given; fed
 * float32 it would sum in float32 — accumulating in float64 is its float64 path, and the order of arrival
 * changes the result only by float64 rounding (far below the final float32 rounding).
 *
 * Two engines give the same bits: the JavaScript reference below (one float64 copy of the model) and the
 * WebAssembly SIMD fold (`kernels/fold.ts`: updates folded in batches of FOLD_BATCH, so the float64 sum is
 * read and written once per batch, and not at all in a round of at most FOLD_BATCH updates). The SIMD fold
 * keeps a reference to the updates of the current batch: their arrays must not change before `finish`.
 */

/** The float64 running sum behind a FedAvgAccumulator. */
interface SumEngine {
  add(tensors: readonly Float32Array[], numExamples: number): void;
  meanFloat64(total: number): Float64Array[];
  meanFloat32(total: number, out?: readonly Float32Array[]): Float32Array[];
}

/** The reference: one float64 array per tensor, `sum[i] += w[i] * n` update after update. */
class ReferenceSum implements SumEngine {
  private readonly sums: Float64Array[];

  constructor(lengths: readonly number[]) {
    this.sums = lengths.map((n) => new Float64Array(n));
  }

  add(tensors: readonly Float32Array[], n: number): void {
    for (let t = 0; t < this.sums.length; t++) {
      const sum = this.sums[t];
      const w = tensors[t];
      for (let i = 0; i < sum.length; i++) sum[i] += w[i] * n;
    }
  }

  meanFloat64(total: number): Float64Array[] {
    for (const sum of this.sums) for (let i = 0; i < sum.length; i++) sum[i] /= total;
    return this.sums;
  }

  meanFloat32(total: number, out?: readonly Float32Array[]): Float32Array[] {
    return this.meanFloat64(total).map((m, t) => {
      if (!out) return new Float32Array(m);
      out[t].set(m);
      return out[t];
    });
  }
}

/** Output arrays must have the model's tensor lengths. */
export function checkOutput(out: readonly Float32Array[], lengths: readonly number[]): void {
  if (out.length !== lengths.length || out.some((o, t) => !(o instanceof Float32Array) || o.length !== lengths[t])) {
    throw new AggregationError(`output arrays of lengths [${out.map((o) => o.length).join(',')}] do not match the model's tensors [${lengths.join(',')}]`);
  }
}

export class FedAvgAccumulator {
  private readonly engine: SumEngine;
  private readonly lengths: number[];
  private examples = 0;
  private updates = 0;
  private finished = false;

  /** `model`: any model with the expected layout (usually the current global weights); only lengths are read. */
  constructor(model: readonly Float32Array[], options: ImplementationOptions = {}) {
    this.lengths = tensorLengths(model);
    const simd = (options.implementation ?? 'simd') === 'simd' && kernelsAvailable() && SimdFold.fits(this.lengths);
    this.engine = simd ? new SimdFold(this.lengths) : new ReferenceSum(this.lengths);
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
    this.engine.add(update.tensors, update.numExamples);
    this.examples += update.numExamples;
    this.updates++;
  }

  private end(): void {
    if (this.finished) throw new AggregationError('FedAvg: the aggregate was already taken');
    if (this.updates === 0) throw new AggregationError('FedAvg needs at least 1 update, got none');
    this.finished = true;
  }

  /** The weighted mean in float64 (for the server optimisers, which subtract it from the global weights). Ends the accumulator. */
  meanFloat64(): Float64Array[] {
    this.end();
    return this.engine.meanFloat64(this.examples);
  }

  /**
   * The weighted mean, rounded once to float32, into `out` when given (one array per tensor, e.g. views on the
   * encoded blob the aggregate is stored as: no allocation, no extra copy) or into fresh arrays. Ends the accumulator.
   */
  finish(out?: readonly Float32Array[]): Float32Array[] {
    if (out) checkOutput(out, this.lengths);
    this.end();
    return this.engine.meanFloat32(this.examples, out);
  }
}

/** FedAvg of a batch — Flower `aggregate(results)`; same as streaming the updates through a FedAvgAccumulator. */
export function fedAvg(updates: readonly CentreUpdate[], options: ImplementationOptions = {}): Float32Array[] {
  checkUpdates(updates, 'FedAvg');
  const acc = new FedAvgAccumulator(updates[0].tensors, options);
  for (const u of updates) acc.add(u);
  return acc.finish();
}

/** Example-weighted mean of `updates[i]` for i in `indices`, float64 sums rounded to float32 (MultiKrum's last step). */
export function weightedMeanOf(updates: readonly CentreUpdate[], indices: readonly number[], options: ImplementationOptions = {}): Float32Array[] {
  const acc = new FedAvgAccumulator(updates[indices[0]].tensors, options);
  for (const i of indices) acc.add(updates[i]);
  return acc.finish();
}
