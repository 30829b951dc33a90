import { AggregationError, tensorLengths } from './update';

/**
 * Server-side optimisers over the FedAvg aggregate (Flower FedAvgM, FedAdam, FedYogi, FedAdagrad). Each is a
 * pure step `(round, current, aggregate, state, params) → { weights, state }`: the global weights going into
 * the round, the round's FedAvg mean (float64 from the streaming accumulator, or float32), the state the
 * previous step returned (undefined on the first), and the strategy parameters. Inputs are never modified.
 *
 * Arithmetic is float64, one pass over the model; the new weights and the state are rounded to float32 once
 * (the state is persisted as an FLW1 blob, see state-format.ts). `round` is the server round, starting at 1,
 * as Flower's `server_round`; a state records the round that produced it and is refused by any round not
 * after it, so a retried round cannot apply the same momentum twice.
 */

export type FloatTensors = readonly (Float32Array | Float64Array)[];

/** FedAvgM momentum buffer (Flower `momentum_vector`). */
export interface FedAvgMState {
  readonly kind: 'fedavgm';
  readonly round: number;
  readonly momentum: Float32Array[];
}

/** FedAdam / FedYogi first and second moments (Flower `m_t`, `v_t`). */
export interface FedAdamState {
  readonly kind: 'fedadam';
  readonly round: number;
  readonly m: Float32Array[];
  readonly v: Float32Array[];
}

export interface FedYogiState {
  readonly kind: 'fedyogi';
  readonly round: number;
  readonly m: Float32Array[];
  readonly v: Float32Array[];
}

/** FedAdagrad keeps only v: Flower fixes beta_1 = 0, so its m_t is just the round's pseudo-gradient. */
export interface FedAdagradState {
  readonly kind: 'fedadagrad';
  readonly round: number;
  readonly v: Float32Array[];
}

/** Everything a stateful strategy carries from one round to the next. */
export type OptimiserState = FedAvgMState | FedAdamState | FedYogiState | FedAdagradState;

export interface StepResult<S extends OptimiserState | undefined> {
  readonly weights: Float32Array[];
  readonly state: S;
}

export interface FedAvgMParams {
  readonly server_learning_rate: number;
  readonly server_momentum: number;
}

export interface FedAdamParams {
  readonly eta: number;
  readonly beta_1: number;
  readonly beta_2: number;
  readonly tau: number;
}

export type FedYogiParams = FedAdamParams;

export interface FedAdagradParams {
  readonly eta: number;
  readonly tau: number;
}

function checkLayout(strategy: string, lengths: readonly number[], tensors: FloatTensors, what: string): void {
  if (tensors.length !== lengths.length) {
    throw new AggregationError(`${strategy}: ${what} has ${tensors.length} tensors, the global model has ${lengths.length}`);
  }
  tensors.forEach((t, i) => {
    if (t.length !== lengths[i]) {
      throw new AggregationError(`${strategy}: ${what} tensor #${i} has ${t.length} values, the global model's has ${lengths[i]}`);
    }
  });
}

/** The state's tensor groups, in FLW1 order: momentum | m, v | v. */
export function optimiserStateTensors(state: OptimiserState): Float32Array[][] {
  switch (state.kind) {
    case 'fedavgm':
      return [state.momentum];
    case 'fedadam':
    case 'fedyogi':
      return [state.m, state.v];
    case 'fedadagrad':
      return [state.v];
  }
}

/**
 * Checks that `state` (possibly undefined) can be used by a `kind` step in `round` on a model shaped like
 * `current`: same kind, produced by an earlier round, same tensor lengths. Returns it narrowed to the kind.
 */
export function checkOptimiserState<K extends OptimiserState['kind']>(
  kind: K,
  round: number,
  current: readonly Float32Array[],
  state: OptimiserState | undefined,
): Extract<OptimiserState, { kind: K }> | undefined {
  if (!Number.isSafeInteger(round) || round < 1) throw new AggregationError(`${kind}: round must be an integer ≥ 1, got ${round}`);
  if (state === undefined) return undefined;
  if (state.kind !== kind) throw new AggregationError(`${kind}: the optimiser state given is a ${state.kind} state`);
  if (!Number.isSafeInteger(state.round) || state.round >= round) {
    throw new AggregationError(
      `${kind}: optimiser state was produced by round ${state.round} and cannot be applied in round ${round} ` +
        '(rounds must increase; a retried round starts again from the state before it)',
    );
  }
  const lengths = tensorLengths(current);
  for (const tensors of optimiserStateTensors(state)) checkLayout(kind, lengths, tensors, `the round-${state.round} optimiser state`);
  return state as Extract<OptimiserState, { kind: K }>;
}

function checkStep<K extends OptimiserState['kind']>(
  kind: K,
  round: number,
  current: readonly Float32Array[],
  aggregate: FloatTensors,
  state: OptimiserState | undefined,
): Extract<OptimiserState, { kind: K }> | undefined {
  const checked = checkOptimiserState(kind, round, current, state);
  checkLayout(kind, tensorLengths(current), aggregate, 'the aggregate');
  return checked;
}

/**
 * FedAvgM — Flower `FedAvgM.aggregate_fit` (PyTorch SGD convention, no Nesterov):
 *   g = current − aggregate;  momentum = μ·momentum + g (just g when there is no previous momentum);
 *   new = current − lr·momentum.
 * With server_momentum 0 and server_learning_rate 1 (Flower's `server_opt` off) it returns the aggregate; state
 * exists only when server_momentum > 0. Flower asserts that a momentum exists from round 2 on; here a missing
 * state simply starts a new momentum (e.g. when round 1 produced no aggregate), as Flower does in round 1.
 */
export function fedAvgMStep(
  round: number,
  current: readonly Float32Array[],
  aggregate: FloatTensors,
  state: FedAvgMState | undefined,
  params: FedAvgMParams,
): StepResult<FedAvgMState | undefined> {
  const prev = checkStep('fedavgm', round, current, aggregate, state);
  const { server_learning_rate: lr, server_momentum: mu } = params;
  if (mu === 0 && lr === 1) return { weights: aggregate.map((a) => new Float32Array(a)), state: undefined };
  const useMomentum = mu > 0;
  const weights: Float32Array[] = [];
  const momentum: Float32Array[] = [];
  for (let t = 0; t < current.length; t++) {
    const w = current[t];
    const a = aggregate[t];
    const out = new Float32Array(w.length);
    if (!useMomentum) {
      for (let i = 0; i < w.length; i++) out[i] = w[i] - lr * (w[i] - a[i]);
    } else {
      const mOut = new Float32Array(w.length);
      const mPrev = prev?.momentum[t];
      for (let i = 0; i < w.length; i++) {
        const g = w[i] - a[i];
        const m = mPrev === undefined ? g : mu * mPrev[i] + g;
        mOut[i] = m;
        out[i] = w[i] - lr * m;
      }
      momentum.push(mOut);
    }
    weights.push(out);
  }
  return { weights, state: useMomentum ? { kind: 'fedavgm', round, momentum } : undefined };
}

/** m and v of the previous state, or undefined (Flower starts them at zeros). */
const moments = (s: { m?: Float32Array[]; v: Float32Array[] } | undefined, t: number) => ({
  m: s?.m?.[t],
  v: s?.v[t],
});

/**
 * FedAdam — Flower `FedAdam.aggregate_fit`:
 *   Δ = aggregate − current;  m = β₁·m + (1 − β₁)·Δ;  v = β₂·v + (1 − β₂)·Δ²;
 *   η' = η·√(1 − β₂^(round+1)) / (1 − β₁^(round+1));  new = current + η'·m / (√v + τ).
 * Flower's bias correction is on the learning rate and uses server_round + 1 (not a step count from 1).
 */
export function fedAdamStep(
  round: number,
  current: readonly Float32Array[],
  aggregate: FloatTensors,
  state: FedAdamState | undefined,
  params: FedAdamParams,
): StepResult<FedAdamState> {
  const prev = checkStep('fedadam', round, current, aggregate, state);
  const { eta, beta_1: b1, beta_2: b2, tau } = params;
  const etaNorm = (eta * Math.sqrt(1 - Math.pow(b2, round + 1))) / (1 - Math.pow(b1, round + 1));
  const weights: Float32Array[] = [];
  const mNext: Float32Array[] = [];
  const vNext: Float32Array[] = [];
  for (let t = 0; t < current.length; t++) {
    const w = current[t];
    const a = aggregate[t];
    const { m: mPrev, v: vPrev } = moments(prev, t);
    const out = new Float32Array(w.length);
    const mOut = new Float32Array(w.length);
    const vOut = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) {
      const delta = a[i] - w[i];
      const m = b1 * (mPrev === undefined ? 0 : mPrev[i]) + (1 - b1) * delta;
      const v = b2 * (vPrev === undefined ? 0 : vPrev[i]) + (1 - b2) * (delta * delta);
      mOut[i] = m;
      vOut[i] = v;
      out[i] = w[i] + (etaNorm * m) / (Math.sqrt(v) + tau);
    }
    weights.push(out);
    mNext.push(mOut);
    vNext.push(vOut);
  }
  return { weights, state: { kind: 'fedadam', round, m: mNext, v: vNext } };
}

/**
 * FedYogi — Flower `FedYogi.aggregate_fit` (no bias correction):
 *   Δ = aggregate − current;  m = β₁·m + (1 − β₁)·Δ;  v = v − (1 − β₂)·Δ²·sign(v − Δ²);
 *   new = current + η·m / (√v + τ).
 */
export function fedYogiStep(
  round: number,
  current: readonly Float32Array[],
  aggregate: FloatTensors,
  state: FedYogiState | undefined,
  params: FedYogiParams,
): StepResult<FedYogiState> {
  const prev = checkStep('fedyogi', round, current, aggregate, state);
  const { eta, beta_1: b1, beta_2: b2, tau } = params;
  const weights: Float32Array[] = [];
  const mNext: Float32Array[] = [];
  const vNext: Float32Array[] = [];
  for (let t = 0; t < current.length; t++) {
    const w = current[t];
    const a = aggregate[t];
    const { m: mPrev, v: vPrev } = moments(prev, t);
    const out = new Float32Array(w.length);
    const mOut = new Float32Array(w.length);
    const vOut = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) {
      const delta = a[i] - w[i];
      const d2 = delta * delta;
      const m = b1 * (mPrev === undefined ? 0 : mPrev[i]) + (1 - b1) * delta;
      const v0 = vPrev === undefined ? 0 : vPrev[i];
      const v = v0 - (1 - b2) * d2 * Math.sign(v0 - d2);
      mOut[i] = m;
      vOut[i] = v;
      out[i] = w[i] + (eta * m) / (Math.sqrt(v) + tau);
    }
    weights.push(out);
    mNext.push(mOut);
    vNext.push(vOut);
  }
  return { weights, state: { kind: 'fedyogi', round, m: mNext, v: vNext } };
}

/**
 * FedAdagrad — Flower `FedAdagrad.aggregate_fit` (β₁ fixed at 0, so m = Δ):
 *   Δ = aggregate − current;  v = v + Δ²;  new = current + η·Δ / (√v + τ).
 */
export function fedAdagradStep(
  round: number,
  current: readonly Float32Array[],
  aggregate: FloatTensors,
  state: FedAdagradState | undefined,
  params: FedAdagradParams,
): StepResult<FedAdagradState> {
  const prev = checkStep('fedadagrad', round, current, aggregate, state);
  const { eta, tau } = params;
  const weights: Float32Array[] = [];
  const vNext: Float32Array[] = [];
  for (let t = 0; t < current.length; t++) {
    const w = current[t];
    const a = aggregate[t];
    const vPrev = prev?.v[t];
    const out = new Float32Array(w.length);
    const vOut = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) {
      const delta = a[i] - w[i];
      const v = (vPrev === undefined ? 0 : vPrev[i]) + delta * delta;
      vOut[i] = v;
      out[i] = w[i] + (eta * delta) / (Math.sqrt(v) + tau);
    }
    weights.push(out);
    vNext.push(vOut);
  }
  return { weights, state: { kind: 'fedadagrad', round, v: vNext } };
}
