// Aggregation throughput: FedAvg, FedMedian, FedTrimmedAvg and Krum's pairwise distances on the WebAssembly SIMD
// kernels, against a plain copy of the same updates (TypedArray.prototype.set) and the JavaScript references.
import { parseArgs } from 'node:util';
import { cpus, totalmem } from 'node:os';
import { createStrategy, FedAvgAccumulator, fedMedian, fedTrimmedAvg, KrumDistances, type CentreUpdate, type StrategyConfig } from '@fedledger/fl-core';

const log = (s: string) => process.stderr.write(`[bench aggregate] ${s}\n`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timed(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** A model of `params` coordinates in 8 tensors of uneven lengths (none a multiple of 4 but the largest). */
function tensorLengths(params: number): number[] {
  const shares = [0.52, 0.21, 0.13, 0.08, 0.04, 0.015, 0.004];
  const lengths = shares.map((s) => Math.floor(params * s) | 1);
  lengths.push(params - lengths.reduce((a, b) => a + b, 0));
  return lengths;
}

/** Centre updates: the global model plus small per-centre noise (xorshift, cheap), numExamples 100..4000. */
function makeUpdates(centres: number, lengths: number[]): CentreUpdate[] {
  let s = 0x9e3779b9;
  const rand = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32 - 0.5;
  };
  const global = lengths.map((n) => Float32Array.from({ length: n }, () => rand() * 0.2));
  return Array.from({ length: centres }, (_, c) => ({
    numExamples: 100 + ((c * 997) % 3900),
    tensors: global.map((g) => g.map((x) => x + rand() * 0.01)),
  }));
}

const BASELINES = ['naiveFedavg', 'sortMedian', 'sortTrimmed', 'naiveKrum'];

type Competitor = readonly [name: string, run: (updates: CentreUpdate[]) => void];

/** Through createStrategy as the aggregator drives it, the result written into preallocated arrays as memcpy's is. */
function aggregateWith(config: StrategyConfig, out: Float32Array[]) {
  return (updates: CentreUpdate[]) => {
    const round = createStrategy(config).begin(1, updates[0]!.tensors);
    for (const u of updates) round.add(u);
    round.finish(out);
  };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args,
    options: {
      params: { type: 'string', default: '11000000' },
      centres: { type: 'string', default: '5,20' },
      repeats: { type: 'string', default: '5' },
      only: { type: 'string' },
    },
  });
  const params = Number(values.params);
  const repeats = Number(values.repeats);
  const centresList = values.centres.split(',').map(Number);
  const lengths = tensorLengths(params);
  const model = new Float32Array(params);
  const out = lengths.map((n) => new Float32Array(n));

  const all: Competitor[] = [
    // one thread copying every update into one preallocated model-sized array
    [
      'memcpy',
      (updates) => {
        for (const u of updates) {
          let at = 0;
          for (const t of u.tensors) {
            model.set(t, at);
            at += t.length;
          }
        }
      },
    ],
    [
      'naiveFedavg',
      (updates) => {
        const acc = new FedAvgAccumulator(updates[0]!.tensors, { implementation: 'reference' });
        for (const u of updates) acc.add(u);
        acc.finish();
      },
    ],
    ['fedavg', aggregateWith({ kind: 'fedavg' }, out)],
    ['sortMedian', (updates) => void fedMedian(updates, { implementation: 'reference' })],
    ['fedmedian', aggregateWith({ kind: 'fedmedian' }, out)],
    ['sortTrimmed', (updates) => void fedTrimmedAvg(updates, 0.2, { implementation: 'reference' })],
    ['trimmed', aggregateWith({ kind: 'fedtrimmedavg', beta: 0.2 }, out)],
    // Krum's pairwise distances as the strategy computes them, each update against the earlier ones as it arrives
    [
      'naiveKrum',
      (updates) => {
        const d = new KrumDistances({ implementation: 'reference' });
        for (const u of updates) d.add(u.tensors);
      },
    ],
    [
      'krum',
      (updates) => {
        const d = new KrumDistances();
        for (const u of updates) d.add(u.tensors);
      },
    ],
  ];

  // --only memcpy,fedavg: a subset (the fields of the others are left out)
  const only = values.only?.split(',');
  const competitors = only ? all.filter(([name]) => only.includes(name)) : all;

  const round2 = (x: number) => Math.round(x * 100) / 100;
  const runs: Record<string, unknown>[] = [];
  for (const centres of centresList) {
    log(`${centres} centres × ${params} params (${lengths.length} tensors): generating updates`);
    const updates = makeUpdates(centres, lengths);
    const inputBytes = centres * params * 4;
    const rates = new Map<string, number[]>(competitors.map(([name]) => [name, [] as number[]]));
    // Interleaved, after one discarded warm-up round, so JIT warm-up and machine noise fall on all alike.
    for (let r = 0; r <= repeats; r++) {
      const line: string[] = [];
      for (const [name, fn] of competitors) {
        // the JavaScript references take seconds at 20 centres: 3 measured rounds are enough to place them
        if (BASELINES.includes(name) && r > Math.min(repeats, 3)) continue;
        const gbps = inputBytes / timed(() => fn(updates)) / 1e9;
        if (r > 0) rates.get(name)!.push(gbps);
        line.push(`${name} ${gbps.toFixed(2)}`);
      }
      log(`${centres} centres, ${r === 0 ? 'warm-up' : `round ${r}/${repeats}`}: ${line.join(' | ')} GB/s`);
    }
    // the issue's fields first, then the baselines measured in the same run
    const order = ['memcpy', 'fedavg', 'fedmedian', 'trimmed', 'krum', 'naiveFedavg', 'sortMedian', 'sortTrimmed', 'naiveKrum'];
    const measured = order.filter((name) => rates.has(name)).map((name) => [name, rates.get(name)!] as const);
    const m = (name: string) => round2(median(rates.get(name) ?? [NaN]));
    runs.push({
      centres,
      ...Object.fromEntries(measured.map(([name]) => [`${name}GBps`, m(name)])),
      ...Object.fromEntries(
        ['fedavg', 'fedmedian']
          .filter((name) => rates.has(name) && rates.has('memcpy'))
          .map((name) => [`${name}VsMemcpy`, round2(m(name) / m('memcpy'))]),
      ),
      // max / min of the repeats, a measure of the noise
      spread: Object.fromEntries(measured.map(([name, xs]) => [name, round2(Math.max(...xs) / Math.min(...xs))])),
    });
  }

  const first = runs.find((r) => r.centres === 5) ?? runs[0]!;
  return {
    bench: 'aggregate',
    params,
    ...first,
    runs,
    repeats,
    tensors: lengths.length,
    unit: 'GB/s of input (centres × params × 4 bytes), 1 GB = 1e9 bytes; medians of the repeats',
    machine: { cpus: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  };
}
