import { readFileSync } from 'node:fs';
import { FOLD_BATCH } from '../src/kernels/fold';
import { join } from 'node:path';
import {
  AggregationError,
  bulyan,
  createStrategy,
  decodeOptimiserState,
  encodeOptimiserState,
  encodeWeights,
  FedAvgAccumulator,
  fedAvg,
  fedMedian,
  fedTrimmedAvg,
  krum,
  multiKrum,
  resolveStrategyConfig,
  StrategyConfigError,
  WeightFormatError,
  type CentreUpdate,
  type OptimiserState,
  type StrategyConfig,
  type StrategyKind,
} from '../src';

// ---- Flower reference vectors (bash bench/flower/make-vectors.sh) ----------------------------------------

interface VectorUpdate {
  num_examples: number;
  tensors: number[][];
}
interface OneShotCase {
  name: string;
  source: string;
  params: Record<string, number>;
  updates: VectorUpdate[];
  expected: number[][];
}
interface RoundVector {
  round: number;
  current: number[][];
  updates: VectorUpdate[];
  expected: number[][];
}
interface MultiRoundCase {
  name: string;
  source: string;
  params: Record<string, number>;
  initial: number[][];
  rounds: RoundVector[];
}
interface VectorFile<C> {
  strategy: StrategyKind;
  source: string;
  flwr_version: string;
  cases: C[];
}

const load = <C>(name: string): VectorFile<C> =>
  JSON.parse(readFileSync(join(__dirname, 'vectors', `${name}.json`), 'utf8')) as VectorFile<C>;

const toUpdate = (u: VectorUpdate): CentreUpdate => ({ numExamples: u.num_examples, tensors: u.tensors.map((t) => Float32Array.from(t)) });
const model = (tensors: number[][]): Float32Array[] => tensors.map((t) => Float32Array.from(t));
const config = (kind: StrategyKind, params: Record<string, number>) => ({ kind, ...params }) as StrategyConfig;

/** Every element within `rel` of Flower's value, relative to it; on failure names the worst element. */
function expectClose(actual: readonly Float32Array[], expected: readonly number[][], rel = 1e-6): void {
  expect(actual.map((t) => t.length)).toEqual(expected.map((t) => t.length));
  const outside: string[] = [];
  expected.forEach((tensor, t) =>
    tensor.forEach((e, i) => {
      const a = actual[t][i];
      if (a !== e && !(Math.abs(a - e) <= rel * Math.abs(e))) outside.push(`tensor ${t}[${i}]: ${a} vs Flower ${e}`);
    }),
  );
  expect(outside).toEqual([]);
}

function runOneShot(kind: StrategyKind, c: OneShotCase) {
  const updates = c.updates.map(toUpdate);
  const round = createStrategy(config(kind, c.params)).begin(1, updates[0].tensors.map((t) => new Float32Array(t.length)));
  for (const u of updates) round.add(u);
  return { updates, result: round.finish() };
}

/** The pure function behind each one-shot strategy, called with Flower's parameter names. */
const PURE: Record<string, (updates: CentreUpdate[], p: Record<string, number>) => Float32Array[]> = {
  fedavg: (us) => fedAvg(us),
  fedprox: (us) => fedAvg(us),
  fedmedian: (us) => fedMedian(us),
  fedtrimmedavg: (us, p) => fedTrimmedAvg(us, p.beta ?? 0.2),
  krum: (us, p) => krum(us, p.num_malicious_clients).weights,
  multikrum: (us, p) => multiKrum(us, p.num_malicious_clients, p.num_clients_to_keep).weights,
  bulyan: (us, p) => bulyan(us, p.num_malicious_clients).weights,
};
const ONE_SHOT = Object.keys(PURE) as StrategyKind[];
const MULTI_ROUND: StrategyKind[] = ['fedavgm', 'fedadam', 'fedyogi', 'fedadagrad'];

describe('matches Flower within 1e-6 relative (vectors from flwr strategy classes)', () => {
  for (const kind of ONE_SHOT) {
    const file = load<OneShotCase>(kind);
    describe(`${kind} — ${file.source}`, () => {
      it.each(file.cases.map((c) => [`${c.name}: Flower ${c.source}`, c] as const))('%s', (_name, c) => {
        const { updates, result } = runOneShot(kind, c);
        expectClose(result.weights, c.expected);
        // the pure function gives the same bits as the streaming/buffered strategy the aggregator drives
        const pure = PURE[kind](updates, c.params);
        expect(pure).toEqual(result.weights);
      });
    });
  }

  for (const kind of MULTI_ROUND) {
    const file = load<MultiRoundCase>(kind);
    describe(`${kind} — ${file.source}`, () => {
      it.each(file.cases.map((c) => [`${c.name}, ${c.rounds.length} rounds, state persisted as FLW1 between rounds: Flower ${c.source}`, c] as const))(
        '%s',
        (_name, c) => {
          const strategy = createStrategy(config(kind, c.params));
          let current = model(c.initial);
          let state: OptimiserState | undefined;
          for (const r of c.rounds) {
            const round = strategy.begin(r.round, current, state);
            for (const u of r.updates) round.add(toUpdate(u));
            const result = round.finish();
            expectClose(result.weights, r.expected);
            expect(result.state !== undefined).toBe(strategy.stateful);
            state = result.state && decodeOptimiserState(encodeOptimiserState(result.state));
            current = result.weights; // our float32 global, as the aggregator publishes it
          }
        },
      );
    });
  }
});

// ---- behaviour pinned by hand ----------------------------------------------------------------------------

const u = (numExamples: number, ...tensors: number[][]): CentreUpdate => ({ numExamples, tensors: tensors.map((t) => Float32Array.from(t)) });
const values = (weights: readonly Float32Array[]) => weights.map((t) => Array.from(t));

function aggregate(cfg: StrategyConfig, updates: CentreUpdate[]) {
  const round = createStrategy(cfg).begin(1, updates[0].tensors.map((t) => new Float32Array(t.length)));
  updates.forEach((x) => round.add(x));
  return round.finish();
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('FedAvg', () => {
  it('weights two centres 1:3 by their examples', () => {
    expect(values(fedAvg([u(1, [0, 4], [10]), u(3, [4, 8], [-2])]))).toEqual([[3, 7], [1]]);
  });

  it('gives the same bits whatever the order in which updates arrive', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const updates = [1, 17, 250, 3, 4096].map((n) => u(n, Array.from({ length: 64 }, rand), Array.from({ length: 5 }, rand)));
    const permutations = (xs: number[]): number[][] =>
      xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
    const reference = fedAvg(updates);
    for (const order of permutations([0, 1, 2, 3, 4])) {
      const acc = new FedAvgAccumulator(updates[0].tensors);
      order.forEach((i) => acc.add(updates[i]));
      expect(acc.finish()).toEqual(reference);
    }
  });

  it('streams: keeps no reference to an update once its batch (FOLD_BATCH updates) is folded in', () => {
    const first = u(2, [1, 1]);
    const acc = new FedAvgAccumulator(first.tensors);
    acc.add(first);
    for (let i = 1; i < FOLD_BATCH; i++) acc.add(u(2, [1, 1]));
    first.tensors[0].fill(1000); // folded: the centre's buffer may now be reused for something else
    for (let i = 0; i < FOLD_BATCH; i++) acc.add(u(2, [3, 3]));
    expect(values(acc.finish())).toEqual([[2, 2]]);
  });

  it('FedProx aggregates exactly like FedAvg; proximal_mu is only for the centres', () => {
    const updates = [u(5, [0.5, -1]), u(2, [1.5, 3]), u(9, [-0.25, 0.125])];
    expect(aggregate({ kind: 'fedprox', proximal_mu: 0.01 }, updates).weights).toEqual(fedAvg(updates));
    expect(createStrategy({ kind: 'fedprox', proximal_mu: 0.01 }).config).toEqual({ kind: 'fedprox', proximal_mu: 0.01 });
  });

  it('refuses an update whose tensors do not match the global model, naming the tensor', () => {
    const round = createStrategy({ kind: 'fedavg' }).begin(1, [new Float32Array(3), new Float32Array(2)]);
    round.add(u(1, [1, 2, 3], [4, 5]));
    expect(errorOf(() => round.add(u(1, [1, 2, 3], [4, 5, 6])))).toEqual(
      new AggregationError("update #1: tensor #1 has 3 values, the global model's has 2"),
    );
    expect(errorOf(() => round.add(u(0, [1, 2, 3], [4, 5]))).message).toBe('update #1: numExamples must be a positive integer, got 0');
    expect(round.count).toBe(1);
  });
});

describe('coordinate-wise median and trimmed mean', () => {
  it('median of an odd count is the middle value, of an even count the mean of the two middle ones', () => {
    expect(values(fedMedian([u(1, [1, -3]), u(1, [5, 0]), u(1, [2, 9])]))).toEqual([[2, 0]]);
    expect(values(fedMedian([u(1, [1]), u(1, [2]), u(1, [10]), u(1, [4])]))).toEqual([[3]]);
  });

  it('median ignores numExamples and an outlier', () => {
    expect(values(aggregate({ kind: 'fedmedian' }, [u(1, [1]), u(1000, [1e6]), u(1, [2])]).weights)).toEqual([[2]]);
  });

  it('trimmed mean drops floor(beta·n) values at each end', () => {
    const updates = [u(1, [1]), u(1, [2]), u(1, [3]), u(1, [4]), u(1, [100])];
    expect(values(fedTrimmedAvg(updates, 0.2))).toEqual([[3]]); // 1 cut at each end
    expect(values(fedTrimmedAvg(updates, 0.1))).toEqual([[22]]); // floor(0.5) = 0: plain mean
    expect(values(aggregate({ kind: 'fedtrimmedavg' }, updates).weights)).toEqual([[3]]); // Flower's default beta 0.2
  });
});

describe('Krum, MultiKrum, Bulyan', () => {
  const honest = [u(10, [1, 1]), u(20, [1.1, 0.9]), u(30, [0.9, 1.05]), u(40, [1.05, 1]), u(50, [0.95, 0.95]), u(60, [1, 1.1])];
  const outlier = u(1000, [100, -100]);

  it('Krum rejects the outlier and returns a copy of one honest update', () => {
    const updates = [outlier, ...honest.slice(0, 4)];
    const result = krum(updates, 1);
    expect(result.selected).toHaveLength(1);
    expect(result.selected[0]).not.toBe(0);
    expect(result.weights).toEqual(updates[result.selected[0]].tensors);
    expect(result.weights[0]).not.toBe(updates[result.selected[0]].tensors[0]);
  });

  it('MultiKrum averages the kept updates weighted by numExamples, the outlier not among them', () => {
    const updates = [...honest.slice(0, 3), outlier, ...honest.slice(3, 5)];
    const result = aggregate({ kind: 'multikrum', num_malicious_clients: 1, num_clients_to_keep: 3 }, updates);
    expect(result.selected).toHaveLength(3);
    expect(result.selected).not.toContain(3);
    expect(result.weights).toEqual(fedAvg(result.selected!.map((i) => updates[i])));
  });

  it('Bulyan selects n − 2f updates without the outlier and averages the β values nearest the median', () => {
    const updates = [...honest, outlier];
    const result = aggregate({ kind: 'bulyan', num_malicious_clients: 1 }, updates);
    expect(result.selected).toHaveLength(5);
    expect(result.selected).not.toContain(6);
    for (const x of result.weights[0]) expect(Math.abs(x - 1)).toBeLessThan(0.1);
  });

  it('Krum needs n > 2f + 2 and Bulyan n ≥ 4f + 3, and say so with the numbers', () => {
    expect(errorOf(() => aggregate({ kind: 'krum', num_malicious_clients: 1 }, honest.slice(0, 4))).message).toBe(
      'Krum with num_malicious_clients=1 needs more than 2·1 + 2 = 4 updates, got 4',
    );
    expect(errorOf(() => aggregate({ kind: 'bulyan', num_malicious_clients: 1 }, honest)).message).toBe(
      'Bulyan with num_malicious_clients=1 needs at least 4·1 + 3 = 7 updates, got 6',
    );
    expect(errorOf(() => multiKrum(honest.slice(0, 5), 1, 5)).message).toMatch(/^MultiKrum with num_clients_to_keep=5 and num_malicious_clients=1 needs at least 5 \+ 1 = 6 updates/);
    expect([
      createStrategy({ kind: 'krum', num_malicious_clients: 2 }).minUpdates,
      createStrategy({ kind: 'multikrum', num_malicious_clients: 1, num_clients_to_keep: 6 }).minUpdates,
      createStrategy({ kind: 'bulyan', num_malicious_clients: 2 }).minUpdates,
      createStrategy({ kind: 'fedavg' }).minUpdates,
    ]).toEqual([7, 7, 11, 1]);
  });
});

describe('strategy configuration', () => {
  it("fills in Flower's defaults", () => {
    expect(resolveStrategyConfig({ kind: 'fedadam' })).toEqual({ kind: 'fedadam', eta: 0.1, eta_l: 0.1, beta_1: 0.9, beta_2: 0.99, tau: 1e-9 });
    expect(resolveStrategyConfig({ kind: 'fedyogi' })).toEqual({ kind: 'fedyogi', eta: 0.01, eta_l: 0.0316, beta_1: 0.9, beta_2: 0.99, tau: 1e-3 });
    expect(resolveStrategyConfig({ kind: 'fedadagrad' })).toEqual({ kind: 'fedadagrad', eta: 0.1, eta_l: 0.1, tau: 1e-9 });
    expect(resolveStrategyConfig({ kind: 'fedavgm' })).toEqual({ kind: 'fedavgm', server_learning_rate: 1, server_momentum: 0 });
    expect(resolveStrategyConfig({ kind: 'fedtrimmedavg' })).toEqual({ kind: 'fedtrimmedavg', beta: 0.2 });
    expect(resolveStrategyConfig({ kind: 'bulyan' })).toEqual({ kind: 'bulyan', num_malicious_clients: 0 });
  });

  it.each([
    [{ kind: 'fedadam', beta_1: 1 }, 'fedadam: beta_1 must be in [0, 1), got 1'],
    [{ kind: 'fedyogi', tau: 0 }, 'fedyogi: tau must be > 0, got 0 (it keeps m / (√v + τ) finite where v is 0)'],
    [{ kind: 'fedtrimmedavg', beta: 0.5 }, 'fedtrimmedavg: beta must be in [0, 0.5), got 0.5 (the fraction cut off at each end)'],
    [{ kind: 'fedprox' }, 'fedprox: parameter proximal_mu is required (the weight of the proximal term)'],
    [{ kind: 'multikrum', num_malicious_clients: 1 }, 'multikrum: parameter num_clients_to_keep is required (the number of best-scored updates averaged)'],
    [{ kind: 'krum', num_malicious_clients: 1.5 }, 'krum: num_malicious_clients must be an integer ≥ 0, got 1.5 (the number of malicious centres tolerated)'],
    [{ kind: 'fedavgm', server_momentum: '0.9' }, 'fedavgm: server_momentum must be a number, got "0.9" (momentum ≥ 1 makes the server step grow without bound)'],
    [{ kind: 'krum', num_clients_to_keep: 3 }, "krum: unknown parameter 'num_clients_to_keep' (krum takes num_malicious_clients; Krum that keeps several updates is kind 'multikrum')"],
    [{ kind: 'fedavg', proximal_mu: 0.1 }, "fedavg: unknown parameter 'proximal_mu' (fedavg takes no parameters)"],
    [{ kind: 'fedsgd' }, 'unknown strategy kind "fedsgd"; expected one of fedavg, fedprox, fedavgm, fedmedian, fedtrimmedavg, krum, multikrum, bulyan, fedadam, fedyogi, fedadagrad'],
  ])('refuses %j: %s', (cfg, message) => {
    expect(errorOf(() => createStrategy(cfg as unknown as StrategyConfig))).toEqual(new StrategyConfigError(message));
  });
});

describe('server-optimiser state', () => {
  const current = [Float32Array.from([1, 2, 3]), Float32Array.from([-1])];
  const run = (cfg: StrategyConfig, round: number, state?: OptimiserState) => {
    const r = createStrategy(cfg).begin(round, current, state);
    r.add(u(3, [1.5, 2, 2], [0]));
    r.add(u(1, [0.5, 2, 4], [-2]));
    return r.finish();
  };

  it('round-trips through an FLW1 blob, values bit for bit', () => {
    const { state } = run({ kind: 'fedadam' }, 1);
    const bytes = encodeOptimiserState(state!);
    expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe('FLW1');
    expect(decodeOptimiserState(bytes)).toEqual(state);
    const momentum = run({ kind: 'fedavgm', server_momentum: 0.9 }, 1).state!;
    expect(decodeOptimiserState(encodeOptimiserState(momentum))).toEqual(momentum);
  });

  it('carries over: round 2 with the round-1 state differs from a fresh start', () => {
    const cfg: StrategyConfig = { kind: 'fedyogi', eta: 0.1 };
    const first = run(cfg, 1);
    expect(run(cfg, 2, first.state).weights).not.toEqual(run(cfg, 2).weights);
  });

  it('refuses to apply a state twice (a retried round), a state of another kind, or a state to a stateless strategy', () => {
    const { state } = run({ kind: 'fedadagrad' }, 3);
    expect(errorOf(() => run({ kind: 'fedadagrad' }, 3, state)).message).toMatch(/^fedadagrad: optimiser state was produced by round 3 and cannot be applied in round 3/);
    expect(errorOf(() => run({ kind: 'fedadam' }, 4, state)).message).toBe('fedadam: the optimiser state given is a fedadagrad state');
    expect(errorOf(() => run({ kind: 'fedmedian' }, 4, state)).message).toBe('fedmedian keeps no optimiser state, but a fedadagrad state was given');
  });

  it('FedAvgM without momentum keeps no state; with lr 1 it is FedAvg', () => {
    expect(createStrategy({ kind: 'fedavgm', server_learning_rate: 0.5 }).stateful).toBe(false);
    const plain = run({ kind: 'fedavgm' }, 1);
    expect(plain.state).toBeUndefined();
    expect(values(plain.weights)).toEqual([[1.25, 2, 2.5], [-0.5]]);
  });

  it('decoding refuses a weights blob that is not a state', () => {
    const blob = encodeWeights([{ name: 'conv1/kernel', shape: [1], data: new Float32Array(1) }]);
    expect(errorOf(() => decodeOptimiserState(blob))).toBeInstanceOf(WeightFormatError);
  });
});
