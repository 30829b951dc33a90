import { readFileSync } from 'node:fs';
import { buildKernels } from '../src/kernels/build/kernels-source';
import { KERNELS_FILE } from '../src/kernels/build/generate';
import { wasmModuleSource } from '@fedledger/wasm-kit';
import { FOLD_MAX } from '../src/kernels/abi';
import { SimdFold } from '../src/kernels/fold';
import { FoldWorker } from '../src/kernels/fold-worker';
import { oddEvenMergeSort, pruneTo, type Comparator } from '../src/kernels/networks';
import { kernelsAvailable } from '../src/kernels/runtime';
import {
  createStrategy,
  FedAvgAccumulator,
  fedAvg,
  fedMedian,
  fedTrimmedAvg,
  krum,
  KrumDistances,
  multiKrum,
  bulyan,
  type CentreUpdate,
  type StrategyConfig,
} from '../src';

// ---- helpers ---------------------------------------------------------------------------------------------

/** Deterministic generator (LCG), uniform in [-1, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

/** Tensor lengths that are not multiples of 4, of a fold chunk (8192) or of a coordinate-wise block. */
const LENGTHS = [1, 3, 6, 8197, 130, 13109, 2];

function updatesOf(n: number, seed: number, value: (rand: () => number) => number = (r) => r()): CentreUpdate[] {
  const rand = random(seed);
  return Array.from({ length: n }, () => ({
    numExamples: 1 + Math.floor((rand() + 1) * 500),
    tensors: LENGTHS.map((len) => Float32Array.from({ length: len }, () => value(rand))),
  }));
}

/** Exactly the same bits (toEqual would also accept +0 for −0 on some paths). */
function expectSameBits(actual: readonly (Float32Array | Float64Array)[], expected: readonly (Float32Array | Float64Array)[]): void {
  expect(actual.map((t) => t.length)).toEqual(expected.map((t) => t.length));
  actual.forEach((a, t) => {
    const e = expected[t];
    const same = Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(e.buffer, e.byteOffset, e.byteLength));
    if (!same) {
      const i = a.findIndex((x, k) => !Object.is(x, e[k]));
      throw new Error(`tensor ${t}[${i}]: ${a[i]} vs reference ${e[i]}`);
    }
  });
}

/** A reference accumulator with these updates added. */
class FedAvgAccumulatorReference extends FedAvgAccumulator {
  constructor(updates: readonly CentreUpdate[]) {
    super(updates[0].tensors, { implementation: 'reference' });
    updates.forEach((u) => this.add(u));
  }
}

const COUNTS = Array.from({ length: 20 }, (_, i) => i + 1);

it('runs on this Node (WebAssembly SIMD), so the tests below exercise the kernels', () => {
  expect(kernelsAvailable()).toBe(true);
});

it('the committed kernels module is what build/generate.ts produces (regenerate it after editing kernels-source.ts)', () => {
  expect(readFileSync(KERNELS_FILE.path, 'utf8')).toBe(wasmModuleSource(KERNELS_FILE, buildKernels()));
});

// ---- comparator networks ---------------------------------------------------------------------------------

function run(network: readonly Comparator[], values: number[]): number[] {
  const v = [...values];
  for (const [a, b] of network) if (v[b] < v[a]) [v[a], v[b]] = [v[b], v[a]];
  return v;
}

describe('comparator networks', () => {
  it('odd–even merge sort sorts every 0/1 input for n ≤ 14 (hence every input: the 0–1 principle)', () => {
    for (let n = 1; n <= 14; n++) {
      const network = oddEvenMergeSort(n);
      for (let bits = 0; bits < 2 ** n; bits++) {
        const input = Array.from({ length: n }, (_, i) => (bits >> i) & 1);
        const ones = input.reduce((s, x) => s + x, 0);
        expect(run(network, input)).toEqual(Array.from({ length: n }, (_, i) => (i >= n - ones ? 1 : 0)));
      }
    }
  });

  it('pruned to some outputs, still puts the right values there (random inputs, n up to 40)', () => {
    const rand = random(3);
    for (let n = 1; n <= 40; n++) {
      const mid = n >> 1;
      const median = pruneTo(oddEvenMergeSort(n), n % 2 ? [mid] : [mid - 1, mid]);
      const cut = Math.floor(n / 5);
      const trimmed = pruneTo(oddEvenMergeSort(n), Array.from({ length: n - 2 * cut }, (_, i) => cut + i));
      for (let trial = 0; trial < 200; trial++) {
        const input = Array.from({ length: n }, () => Math.floor((rand() + 1) * 4));
        const sorted = [...input].sort((a, b) => a - b);
        const m = run(median, input);
        expect(n % 2 ? [m[mid]] : [m[mid - 1], m[mid]]).toEqual(n % 2 ? [sorted[mid]] : [sorted[mid - 1], sorted[mid]]);
        expect(run(trimmed, input).slice(cut, n - cut)).toEqual(sorted.slice(cut, n - cut));
      }
    }
  });
});

// ---- fast vs reference -----------------------------------------------------------------------------------

describe('FedAvg on the kernels gives the reference bits', () => {
  it.each(COUNTS)('%i updates: float32 mean and float64 mean', (n) => {
    const updates = updatesOf(n, 100 + n);
    expectSameBits(fedAvg(updates), fedAvg(updates, { implementation: 'reference' }));
    const fast = new FedAvgAccumulator(updates[0].tensors);
    const reference = new FedAvgAccumulator(updates[0].tensors, { implementation: 'reference' });
    for (const u of updates) {
      fast.add(u);
      reference.add(u);
    }
    expectSameBits(fast.meanFloat64(), reference.meanFloat64());
  });

  it('whatever the batch (1 to FOLD_MAX updates per pass over the float64 sum), on the worker thread and inline', () => {
    const updates = updatesOf(11, 7);
    const expected = fedAvg(updates, { implementation: 'reference' });
    const lengths = LENGTHS;
    for (let batch = 1; batch <= FOLD_MAX; batch++) {
      for (const worker of [FoldWorker.get(), null]) {
        const fold = new SimdFold(lengths, batch, worker);
        const total = updates.reduce((s, u) => s + u.numExamples, 0);
        for (const u of updates) fold.add(u.tensors, u.numExamples);
        expectSameBits(fold.meanFloat32(total), expected);
      }
    }
    expect(FoldWorker.get()).not.toBeNull(); // the kernels ran on the worker thread above, as they do in the aggregator
  });

  it('reads the updates and never writes them; writes the mean into given arrays', () => {
    const updates = updatesOf(11, 9);
    const before = updates.map((u) => u.tensors.map((t) => t.slice()));
    const expected = fedAvg(updates, { implementation: 'reference' });
    const acc = new FedAvgAccumulator(updates[0].tensors);
    for (const u of updates) acc.add(u);
    const into = LENGTHS.map((n) => new Float32Array(n).fill(Number.NaN));
    const result = acc.finish(into);
    expect(result.every((r, t) => r === into[t])).toBe(true);
    expectSameBits(into, expected);
    updates.forEach((u, i) => expectSameBits(u.tensors, before[i]));
  });

  it('refuses output arrays that do not match the model', () => {
    const updates = updatesOf(2, 3);
    const acc = new FedAvgAccumulator(updates[0].tensors);
    for (const u of updates) acc.add(u);
    expect(() => acc.finish(LENGTHS.map((n) => new Float32Array(n + 1)))).toThrow(/output arrays of lengths/);
  });

  it('on kernel memory reused from an earlier round (stale contents), and with two rounds open at once', () => {
    const first = updatesOf(6, 31);
    const second = updatesOf(7, 32, (r) => r() * 1e3);
    expectSameBits(fedAvg(first), fedAvg(first, { implementation: 'reference' })); // its memory becomes the spare
    const a = new FedAvgAccumulator(second[0].tensors); // takes the spare
    const b = new FedAvgAccumulator(first[0].tensors); // a fresh one
    second.forEach((u, i) => {
      a.add(u);
      if (i < first.length) b.add(first[i]);
    });
    expectSameBits(a.finish(), fedAvg(second, { implementation: 'reference' }));
    expectSameBits(b.meanFloat64(), new FedAvgAccumulatorReference(first).meanFloat64());
  });

  it('large example counts and values of very different magnitudes', () => {
    const updates = updatesOf(6, 11, (r) => r() * 10 ** Math.round(r() * 30)).map((u, i) => ({ ...u, numExamples: 2 ** 40 + i * 977 }));
    expectSameBits(fedAvg(updates), fedAvg(updates, { implementation: 'reference' }));
  });
});

describe('FedMedian and FedTrimmedAvg on the kernels give the reference bits', () => {
  it.each(COUNTS)('median of %i updates', (n) => {
    const updates = updatesOf(n, 200 + n);
    expectSameBits(fedMedian(updates), fedMedian(updates, { implementation: 'reference' }));
  });

  it.each([21, 32, 33, 47])('median of %i updates (beyond the usual number of centres)', (n) => {
    const updates = updatesOf(n, 300 + n);
    expectSameBits(fedMedian(updates), fedMedian(updates, { implementation: 'reference' }));
  });

  it('median with many ties (values from a small set)', () => {
    for (const n of [2, 5, 8, 13]) {
      const updates = updatesOf(n, 400 + n, (r) => Math.round(r() * 3) + 0.5);
      expectSameBits(fedMedian(updates), fedMedian(updates, { implementation: 'reference' }));
    }
  });

  it.each(COUNTS)('trimmed mean of %i updates, beta 0, 0.1, 0.2, 0.3, 0.45', (n) => {
    const updates = updatesOf(n, 500 + n);
    for (const beta of [0, 0.1, 0.2, 0.3, 0.45]) {
      expectSameBits(fedTrimmedAvg(updates, beta), fedTrimmedAvg(updates, beta, { implementation: 'reference' }));
    }
  });

  it('through createStrategy, as the aggregator drives them', () => {
    const updates = updatesOf(9, 600);
    for (const cfg of [{ kind: 'fedmedian' }, { kind: 'fedtrimmedavg', beta: 0.2 }] as StrategyConfig[]) {
      const round = createStrategy(cfg).begin(1, updates[0].tensors);
      updates.forEach((u) => round.add(u));
      const expected = cfg.kind === 'fedmedian' ? fedMedian(updates, { implementation: 'reference' }) : fedTrimmedAvg(updates, 0.2, { implementation: 'reference' });
      expectSameBits(round.finish().weights, expected);
    }
  });
});

describe('Krum distances on the kernels', () => {
  it.each([2, 5, 9, 20])('%i updates: every pairwise distance within 1e-12 relative of the reference', (n) => {
    const updates = updatesOf(n, 700 + n);
    const fast = KrumDistances.of(updates);
    const reference = KrumDistances.of(updates, { implementation: 'reference' });
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const r = reference.get(i, j);
        expect(Math.abs(fast.get(i, j) - r)).toBeLessThanOrEqual(1e-12 * r);
        expect(fast.get(i, j)).toBe(fast.get(j, i));
      }
    }
  });

  it('Krum, MultiKrum and Bulyan select the same updates and give the same bits', () => {
    const updates = updatesOf(11, 800);
    const reference = KrumDistances.of(updates, { implementation: 'reference' });
    expect(krum(updates, 2)).toEqual(krum(updates, 2, reference));
    expect(multiKrum(updates, 2, 4)).toEqual(multiKrum(updates, 2, 4, reference));
    expect(bulyan(updates, 2)).toEqual(bulyan(updates, 2, reference));
  });
});
