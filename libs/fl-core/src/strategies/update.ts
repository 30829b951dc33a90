/**
 * What every strategy consumes. A model is `Float32Array[]`: one flat array per tensor, in the model's fixed
 * tensor order (the order of the FLW1 blob), the same lengths for every centre. Shapes and names live in the
 * FLW1 blob; the maths only needs the flat values.
 */

/** One centre's trained weights for a round and the number of examples it trained on (FedAvg's weight). */
export interface CentreUpdate {
  readonly tensors: readonly Float32Array[];
  /** Positive integer. Only FedAvg-based strategies and MultiKrum's final mean use it. */
  readonly numExamples: number;
}

/**
 * Which code computes an aggregate. 'simd' (the default): WebAssembly SIMD kernels (src/kernels), falling back
 * to 'reference' where the runtime has no WebAssembly or a model is too large for one 2 GiB kernel memory.
 * 'reference': the plain JavaScript loops, the readable definition the kernels are tested against. Both give the
 * same bits, except where noted on a function (Krum's distances: float64 summation order).
 */
export type Implementation = 'simd' | 'reference';

export interface ImplementationOptions {
  readonly implementation?: Implementation;
}

/** A strategy configuration is invalid; the message names the parameter and the reason. */
export class StrategyConfigError extends Error {
  override readonly name = 'StrategyConfigError';
}

/**
 * A round cannot be aggregated as given: an update whose tensors do not match the global model, too few
 * updates for the strategy, optimiser state that does not fit the round. The message says which and why.
 */
export class AggregationError extends Error {
  override readonly name = 'AggregationError';
}

/** Tensor lengths of a model, the reference every update is checked against. */
export function tensorLengths(model: readonly Float32Array[]): number[] {
  return model.map((t, i) => {
    if (!(t instanceof Float32Array)) throw new AggregationError(`global model tensor #${i} is not a Float32Array`);
    return t.length;
  });
}

/** Throws unless `update` has one Float32Array per tensor of the expected lengths and a positive example count. */
export function checkUpdate(update: CentreUpdate, lengths: readonly number[], index: number): void {
  const what = `update #${index}`;
  const { tensors, numExamples } = update;
  if (!Number.isSafeInteger(numExamples) || numExamples < 1) {
    throw new AggregationError(`${what}: numExamples must be a positive integer, got ${numExamples}`);
  }
  if (!Array.isArray(tensors) || tensors.length !== lengths.length) {
    const got = Array.isArray(tensors) ? tensors.length : 'no';
    throw new AggregationError(`${what} has ${got} tensors, the global model has ${lengths.length}`);
  }
  for (let t = 0; t < lengths.length; t++) {
    const tensor = tensors[t];
    if (!(tensor instanceof Float32Array)) throw new AggregationError(`${what}: tensor #${t} is not a Float32Array`);
    if (tensor.length !== lengths[t]) {
      throw new AggregationError(`${what}: tensor #${t} has ${tensor.length} values, the global model's has ${lengths[t]}`);
    }
  }
}

/** Checks a batch of updates against the first one's layout (pure functions without a global model). */
export function checkUpdates(updates: readonly CentreUpdate[], strategy: string): number[] {
  if (updates.length === 0) throw new AggregationError(`${strategy} needs at least 1 update, got none`);
  const lengths = updates[0].tensors.map((t) => t.length);
  updates.forEach((u, i) => checkUpdate(u, lengths, i));
  return lengths;
}

/** Sorts `values[0..n)` ascending in place: insertion sort for the small counts of centres, native sort beyond. */
export function sortPrefix(values: Float64Array, n: number): void {
  if (n > 32) {
    values.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const v = values[i];
    let j = i - 1;
    while (j >= 0 && values[j] > v) {
      values[j + 1] = values[j];
      j--;
    }
    values[j + 1] = v;
  }
}
