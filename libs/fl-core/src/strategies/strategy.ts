import { fedMedian, fedTrimmedAvg } from './coordinate-wise';
import { checkOutput, FedAvgAccumulator } from './fedavg';
import { bulyan, KrumDistances, krum, multiKrum } from './krum';
import {
  checkOptimiserState,
  fedAdagradStep,
  fedAdamStep,
  fedAvgMStep,
  fedYogiStep,
  type OptimiserState,
} from './server-optimisers';
import { AggregationError, checkUpdate, StrategyConfigError, tensorLengths, type CentreUpdate } from './update';

/**
 * The one entry point the aggregator drives: `createStrategy(config)` once per experiment, then per round
 * `begin(round, currentGlobal, persistedState)`, `add(update)` as updates arrive, `finish()`.
 *
 * Parameter names and defaults are those of Flower's strategy classes (flwr 1.42). Parameters of Flower's
 * base FedAvg (fraction_fit, min_fit_clients, ...) are about sampling and quorum, the coordinator's job, and
 * are not accepted here.
 */

export type StrategyKind =
  | 'fedavg'
  | 'fedavgm'
  | 'fedmedian'
  | 'fedtrimmedavg'
  | 'krum'
  | 'multikrum'
  | 'bulyan'
  | 'fedprox'
  | 'fedadam'
  | 'fedyogi'
  | 'fedadagrad';

export type StrategyConfig =
  | { readonly kind: 'fedavg' }
  /** Server side is FedAvg; proximal_mu travels to the centres in the task, which add μ/2·‖w − w_global‖² to their loss. */
  | { readonly kind: 'fedprox'; readonly proximal_mu: number }
  | { readonly kind: 'fedavgm'; readonly server_learning_rate?: number; readonly server_momentum?: number }
  | { readonly kind: 'fedmedian' }
  /** beta: fraction cut off at each end, [0, 0.5). */
  | { readonly kind: 'fedtrimmedavg'; readonly beta?: number }
  | { readonly kind: 'krum'; readonly num_malicious_clients?: number }
  /** Flower's Krum with num_clients_to_keep > 0. */
  | { readonly kind: 'multikrum'; readonly num_malicious_clients?: number; readonly num_clients_to_keep: number }
  | { readonly kind: 'bulyan'; readonly num_malicious_clients?: number }
  /** eta_l is the centres' learning rate: Flower stores it but the server never uses it. */
  | FedOptConfig<'fedadam'>
  | FedOptConfig<'fedyogi'>
  | { readonly kind: 'fedadagrad'; readonly eta?: number; readonly eta_l?: number; readonly tau?: number };

interface FedOptConfig<K extends 'fedadam' | 'fedyogi'> {
  readonly kind: K;
  readonly eta?: number;
  readonly eta_l?: number;
  readonly beta_1?: number;
  readonly beta_2?: number;
  readonly tau?: number;
}

type Resolve<C> = C extends unknown ? { readonly [K in keyof C]-?: Exclude<C[K], undefined> } : never;
/** A StrategyConfig with every default filled in. */
export type ResolvedStrategyConfig = Resolve<StrategyConfig>;

/** What `finish()` hands back. */
export interface RoundAggregate {
  /** The new global weights, one Float32Array per tensor. */
  readonly weights: Float32Array[];
  /** Server-optimiser state to persist and pass to the next round's `begin` (FedAvgM with momentum, FedAdam, FedYogi, FedAdagrad). */
  readonly state?: OptimiserState;
  /** Krum, MultiKrum, Bulyan: indices (in order of `add`) of the updates selected; the others were discarded as outliers. */
  readonly selected?: number[];
}

/** One round being aggregated. */
export interface RoundAccumulator {
  /**
   * Folds in one centre's update. Throws AggregationError if its tensors do not match the global model.
   * Every strategy may keep a reference until finish() (FedAvg-based ones to at most FOLD_BATCH updates at a
   * time, the robust ones to all), so the tensors must not be modified meanwhile.
   */
  add(update: CentreUpdate): void;
  /** Updates added so far. */
  readonly count: number;
  /**
   * The aggregate. Throws AggregationError when there are too few updates for the strategy (see `minUpdates`).
   * With `into` (one array per tensor, the model's lengths) the new weights are written there and returned as
   * `weights`: the aggregator passes views on the blob it stores them in, saving an allocation and a copy.
   */
  finish(into?: readonly Float32Array[]): RoundAggregate;
}

export interface Strategy {
  readonly config: ResolvedStrategyConfig;
  /** Fewest updates `finish()` accepts: Krum 2f + 3, MultiKrum max(2f + 3, keep + f), Bulyan 4f + 3, otherwise 1. */
  readonly minUpdates: number;
  /** Whether `finish()` returns a state that the next round's `begin` needs. */
  readonly stateful: boolean;
  /**
   * Starts a round. `currentGlobal` is the model the centres trained from (the update layout is checked against
   * it; the server optimisers step from it) and must not be modified until `finish()`. `persistedState` is the
   * previous round's `state` (absent in the first round).
   */
  begin(round: number, currentGlobal: readonly Float32Array[], persistedState?: OptimiserState): RoundAccumulator;
}

type Check = (value: number) => string | undefined;
const finite = (v: number) => (typeof v !== 'number' || !Number.isFinite(v) ? 'must be a finite number' : undefined);
const positive: Check = (v) => finite(v) ?? (v > 0 ? undefined : 'must be > 0');
const nonNegative: Check = (v) => finite(v) ?? (v >= 0 ? undefined : 'must be ≥ 0');
const decay: Check = (v) => finite(v) ?? (v >= 0 && v < 1 ? undefined : 'must be in [0, 1)');
const count: Check = (v) => (Number.isSafeInteger(v) && v >= 0 ? undefined : 'must be an integer ≥ 0');
const positiveCount: Check = (v) => (Number.isSafeInteger(v) && v >= 1 ? undefined : 'must be an integer ≥ 1');

interface ParamSpec {
  /** Flower's default; absent = required. */
  readonly default?: number;
  readonly check: Check;
  /** Why, appended to a failed check. */
  readonly why?: string;
}

const TAU: ParamSpec = { check: positive, why: 'it keeps m / (√v + τ) finite where v is 0' };
const F: ParamSpec = { default: 0, check: count, why: 'the number of malicious centres tolerated' };

/** Parameters per kind, with Flower's defaults (flwr 1.42 strategy classes). */
const PARAMS: Record<StrategyKind, Record<string, ParamSpec>> = {
  fedavg: {},
  fedprox: { proximal_mu: { check: nonNegative, why: 'the weight of the proximal term' } },
  fedavgm: {
    server_learning_rate: { default: 1.0, check: positive },
    server_momentum: { default: 0.0, check: decay, why: 'momentum ≥ 1 makes the server step grow without bound' },
  },
  fedmedian: {},
  fedtrimmedavg: {
    beta: { default: 0.2, check: (v) => finite(v) ?? (v >= 0 && v < 0.5 ? undefined : 'must be in [0, 0.5)'), why: 'the fraction cut off at each end' },
  },
  krum: { num_malicious_clients: F },
  multikrum: { num_malicious_clients: F, num_clients_to_keep: { check: positiveCount, why: 'the number of best-scored updates averaged' } },
  bulyan: { num_malicious_clients: F },
  fedadam: {
    eta: { default: 1e-1, check: positive },
    eta_l: { default: 1e-1, check: positive },
    beta_1: { default: 0.9, check: decay },
    beta_2: { default: 0.99, check: decay },
    tau: { default: 1e-9, ...TAU },
  },
  fedyogi: {
    eta: { default: 1e-2, check: positive },
    eta_l: { default: 0.0316, check: positive },
    beta_1: { default: 0.9, check: decay },
    beta_2: { default: 0.99, check: decay },
    tau: { default: 1e-3, ...TAU },
  },
  fedadagrad: {
    eta: { default: 1e-1, check: positive },
    eta_l: { default: 1e-1, check: positive },
    tau: { default: 1e-9, ...TAU },
  },
};

const KINDS = Object.keys(PARAMS) as StrategyKind[];

/** Validates a configuration and fills in Flower's defaults. Throws StrategyConfigError naming the parameter. */
export function resolveStrategyConfig(config: StrategyConfig): ResolvedStrategyConfig {
  if (config === null || typeof config !== 'object') throw new StrategyConfigError('strategy config must be an object with a kind');
  const kind = (config as { kind?: unknown }).kind as StrategyKind;
  if (!KINDS.includes(kind)) throw new StrategyConfigError(`unknown strategy kind ${JSON.stringify(kind)}; expected one of ${KINDS.join(', ')}`);
  const specs = PARAMS[kind];
  const given = config as unknown as Record<string, unknown>;
  const resolved: Record<string, unknown> = { kind };
  for (const key of Object.keys(given)) {
    if (key === 'kind' || Object.prototype.hasOwnProperty.call(specs, key) || given[key] === undefined) continue;
    const takes = Object.keys(specs).length ? `${kind} takes ${Object.keys(specs).join(', ')}` : `${kind} takes no parameters`;
    const hint = kind === 'krum' && key === 'num_clients_to_keep' ? "; Krum that keeps several updates is kind 'multikrum'" : '';
    throw new StrategyConfigError(`${kind}: unknown parameter '${key}' (${takes}${hint})`);
  }
  for (const [name, spec] of Object.entries(specs)) {
    const value = given[name] ?? spec.default;
    if (value === undefined) throw new StrategyConfigError(`${kind}: parameter ${name} is required${spec.why ? ` (${spec.why})` : ''}`);
    const problem = typeof value === 'number' ? spec.check(value) : 'must be a number';
    if (problem) throw new StrategyConfigError(`${kind}: ${name} ${problem}, got ${JSON.stringify(value)}${spec.why ? ` (${spec.why})` : ''}`);
    resolved[name] = value;
  }
  return resolved as ResolvedStrategyConfig;
}

function minUpdatesOf(c: ResolvedStrategyConfig): number {
  switch (c.kind) {
    case 'krum':
      return 2 * c.num_malicious_clients + 3;
    case 'multikrum':
      return Math.max(2 * c.num_malicious_clients + 3, c.num_clients_to_keep + c.num_malicious_clients);
    case 'bulyan':
      return 4 * c.num_malicious_clients + 3;
    default:
      return 1;
  }
}

const isStateful = (c: ResolvedStrategyConfig): boolean =>
  c.kind === 'fedadam' || c.kind === 'fedyogi' || c.kind === 'fedadagrad' || (c.kind === 'fedavgm' && c.server_momentum > 0);

/** FedAvg-based rounds: stream into a FedAvgAccumulator; `complete` takes the mean (float32 or float64) and builds the result. */
function streaming(current: readonly Float32Array[], complete: (acc: FedAvgAccumulator, into?: readonly Float32Array[]) => RoundAggregate): RoundAccumulator {
  const acc = new FedAvgAccumulator(current);
  return {
    add: (update) => acc.add(update),
    get count() {
      return acc.count;
    },
    finish: (into) => complete(acc, into),
  };
}

/** The aggregate with its weights copied into `into` when given (strategies that compute them elsewhere). */
function delivered(aggregate: RoundAggregate, current: readonly Float32Array[], into?: readonly Float32Array[]): RoundAggregate {
  if (!into) return aggregate;
  checkOutput(into, tensorLengths(current));
  aggregate.weights.forEach((w, t) => into[t].set(w));
  return { ...aggregate, weights: [...into] };
}

/** Robust rounds: buffer references (and, for the Krum family, distances as updates arrive). */
function buffered(
  kind: StrategyKind,
  current: readonly Float32Array[],
  withDistances: boolean,
  complete: (updates: readonly CentreUpdate[], distances: KrumDistances | undefined) => RoundAggregate,
): RoundAccumulator {
  const lengths = tensorLengths(current);
  const updates: CentreUpdate[] = [];
  const distances = withDistances ? new KrumDistances() : undefined;
  let finished = false;
  return {
    add(update) {
      if (finished) throw new AggregationError(`${kind}: add() after finish()`);
      checkUpdate(update, lengths, updates.length);
      distances?.add(update.tensors);
      updates.push(update);
    },
    get count() {
      return updates.length;
    },
    finish(into) {
      if (finished) throw new AggregationError(`${kind}: finish() called twice`);
      if (updates.length === 0) throw new AggregationError(`${kind} needs at least 1 update, got none`);
      finished = true;
      return delivered(complete(updates, distances), current, into);
    },
  };
}

/** Builds the strategy for a configuration (validated here, so a bad experiment is refused before round 1). */
export function createStrategy(config: StrategyConfig): Strategy {
  const c = resolveStrategyConfig(config);
  const stateful = isStateful(c);
  return {
    config: c,
    minUpdates: minUpdatesOf(c),
    stateful,
    begin(round, current, persistedState) {
      if (!Number.isSafeInteger(round) || round < 1) throw new AggregationError(`${c.kind}: round must be an integer ≥ 1, got ${round}`);
      if (persistedState !== undefined && !stateful) {
        throw new AggregationError(`${c.kind} keeps no optimiser state, but a ${persistedState.kind} state was given`);
      }
      switch (c.kind) {
        case 'fedavg':
        case 'fedprox':
          return streaming(current, (acc, into) => ({ weights: acc.finish(into) }));
        case 'fedavgm': {
          const prev = checkOptimiserState('fedavgm', round, current, persistedState);
          return streaming(current, (acc, into) => {
            const { weights, state } = fedAvgMStep(round, current, acc.meanFloat64(), prev, c);
            return delivered(state ? { weights, state } : { weights }, current, into);
          });
        }
        case 'fedadam': {
          const prev = checkOptimiserState('fedadam', round, current, persistedState);
          return streaming(current, (acc, into) => delivered(fedAdamStep(round, current, acc.meanFloat64(), prev, c), current, into));
        }
        case 'fedyogi': {
          const prev = checkOptimiserState('fedyogi', round, current, persistedState);
          return streaming(current, (acc, into) => delivered(fedYogiStep(round, current, acc.meanFloat64(), prev, c), current, into));
        }
        case 'fedadagrad': {
          const prev = checkOptimiserState('fedadagrad', round, current, persistedState);
          return streaming(current, (acc, into) => delivered(fedAdagradStep(round, current, acc.meanFloat64(), prev, c), current, into));
        }
        case 'fedmedian':
          return buffered(c.kind, current, false, (updates) => ({ weights: fedMedian(updates) }));
        case 'fedtrimmedavg':
          return buffered(c.kind, current, false, (updates) => ({ weights: fedTrimmedAvg(updates, c.beta) }));
        case 'krum':
          return buffered(c.kind, current, true, (updates, d) => krum(updates, c.num_malicious_clients, d));
        case 'multikrum':
          return buffered(c.kind, current, true, (updates, d) => multiKrum(updates, c.num_malicious_clients, c.num_clients_to_keep, d));
        case 'bulyan':
          return buffered(c.kind, current, true, (updates, d) => bulyan(updates, c.num_malicious_clients, d));
      }
    },
  };
}
