import { FOLD_MAX, FOLD_TABLE_WEIGHTS, foldName, type FoldEnd, type FoldStart } from '../abi';
import { ModuleBuilder, type FunctionBuilder, type Local } from '@fedledger/wasm-kit';

/**
 * The aggregation kernels, written against the tiny assembler. `generate.ts` turns them into
 * `../generated/kernels-wasm.ts`; the runtime only ever loads those bytes.
 *
 * Conventions: every pointer is a byte offset into the one imported memory; `groups` counts groups of 4
 * float32 coordinates (callers pad tensors to a multiple of 4); float32 values are widened to float64 before
 * any arithmetic, and every float64 operation is the one the JavaScript reference performs, in the same
 * order, so the results are the same bits — but for squaredDistances, which sums in 8 interleaved parts.
 */

/** Byte shuffle that moves the high 8 bytes of a vector to the low half (to widen float32 lanes 2 and 3). */
const HIGH_TO_LOW = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
/** Low 8 bytes of the first vector, then low 8 bytes of the second (two demoted halves into one f32x4). */
const JOIN_LOWS = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/** `while (p < end) { body(); p += step }` over i32 locals. */
function whileBelow(f: FunctionBuilder, p: Local, end: Local, step: number, body: () => void): void {
  f.block(() =>
    f.loop(() => {
      f.get(p).get(end).i32GeU().brIf(1);
      body();
      f.get(p).i32(step).i32Add().set(p);
      f.br(0);
    }),
  );
}

/** end = base + groups · 16 (bytes of float32 groups). */
function endOfGroups(f: FunctionBuilder, base: Local, groups: Local, bytesPerGroup: number): Local {
  const end = f.local('i32');
  f.get(base).get(groups).i32(bytesPerGroup).i32Mul().i32Add().set(end);
  return end;
}

/**
 * fold_<start>_<end>_<k>(acc, table, groups, divisor, out), for 4·groups coordinates i:
 *   s = (start 'acc' ? acc[i] : 0) + w₀·s₀[i] + w₁·s₁[i] + … + w_{k−1}·s_{k−1}[i]   (float64, left to right)
 *   end 'sum':    acc[i] = s
 *   end 'mean64': acc[i] = s / divisor
 *   end 'mean32': float32 out[i] = round(s / divisor)   (out may be acc itself: out[i] sits at or below acc[i]'s
 *                 bytes, and each group of acc is read before its output is written)
 * acc is float64; table holds k source pointers (i32, float32 data) then, at FOLD_TABLE_WEIGHTS, k float64
 * weights. The running sum stays in registers across the k sources: acc is read and written once per call.
 */
function fold(m: ModuleBuilder, start: FoldStart, end: FoldEnd, k: number): void {
  m.func(foldName(start, end, k), ['i32', 'i32', 'i32', 'f64', 'i32'], [], (f) => {
    const [acc, table, groups, divisor, out] = [f.param(0), f.param(1), f.param(2), f.param(3), f.param(4)];
    const src = Array.from({ length: k }, () => f.local('i32'));
    const weight = Array.from({ length: k }, () => f.local('v128'));
    const [lo, hi, d] = [f.local('v128'), f.local('v128'), f.local('v128')];
    const off = f.local('i32');
    for (let j = 0; j < k; j++) {
      f.get(table).i32Load(4 * j).set(src[j]);
      f.get(table).f64Load(FOLD_TABLE_WEIGHTS + 8 * j).f64x2Splat().set(weight[j]);
    }
    f.get(divisor).f64x2Splat().set(d);
    const stop = f.local('i32');
    f.get(groups).i32(16).i32Mul().set(stop);
    f.i32(0).set(off);
    whileBelow(f, off, stop, 16, () => {
      if (start === 'acc') {
        f.get(acc).v128Load(0).set(lo);
        f.get(acc).v128Load(16).set(hi);
      } else {
        f.f64(0).f64x2Splat().set(lo);
        f.f64(0).f64x2Splat().set(hi);
      }
      for (let j = 0; j < k; j++) {
        f.get(lo).get(src[j]).get(off).i32Add().v128Load64Zero(0).f64x2PromoteLow().get(weight[j]).f64x2Mul().f64x2Add().set(lo);
        f.get(hi).get(src[j]).get(off).i32Add().v128Load64Zero(8).f64x2PromoteLow().get(weight[j]).f64x2Mul().f64x2Add().set(hi);
      }
      if (end === 'sum') {
        f.get(acc).get(lo).v128Store(0);
        f.get(acc).get(hi).v128Store(16);
      } else if (end === 'mean64') {
        f.get(acc).get(lo).get(d).f64x2Div().v128Store(0);
        f.get(acc).get(hi).get(d).f64x2Div().v128Store(16);
      } else {
        f.get(out);
        f.get(lo).get(d).f64x2Div().f32x4Demote();
        f.get(hi).get(d).f64x2Div().f32x4Demote();
        f.i8x16Shuffle(JOIN_LOWS).v128Store(0);
        f.get(out).i32(16).i32Add().set(out);
      }
      f.get(acc).i32(32).i32Add().set(acc);
    });
  });
}

/**
 * compareExchange(rows, table, count, groups): runs a comparator network over columns of float32 rows.
 * table holds `count` pairs (i32 a, i32 b) of byte offsets from `rows`, a < b as wires; for each pair, in
 * order, and each of the 4·groups lanes: if row_b < row_a, swap them (JavaScript `<`: equal values stay).
 * groups must be even (two groups per iteration).
 */
function compareExchange(m: ModuleBuilder): void {
  m.func('compareExchange', ['i32', 'i32', 'i32', 'i32'], [], (f) => {
    const [rows, table, count, groups] = [f.param(0), f.param(1), f.param(2), f.param(3)];
    const a = f.local('i32');
    const b = f.local('i32');
    const endA = f.local('i32');
    const [va, vb, wa, wb] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
    const tableEnd = endOfGroups(f, table, count, 8);
    whileBelow(f, table, tableEnd, 8, () => {
      f.get(rows).get(table).i32Load(0).i32Add().set(a);
      f.get(rows).get(table).i32Load(4).i32Add().set(b);
      f.get(a).get(groups).i32(16).i32Mul().i32Add().set(endA);
      whileBelow(f, a, endA, 32, () => {
        f.get(a).v128Load(0).set(va);
        f.get(b).v128Load(0).set(vb);
        f.get(a).v128Load(16).set(wa);
        f.get(b).v128Load(16).set(wb);
        f.get(a).get(va).get(vb).f32x4Pmin().v128Store(0); // vb < va ? vb : va
        f.get(b).get(vb).get(va).f32x4Pmax().v128Store(0); // vb < va ? va : vb
        f.get(a).get(wa).get(wb).f32x4Pmin().v128Store(16);
        f.get(b).get(wb).get(wa).f32x4Pmax().v128Store(16);
        f.get(b).i32(32).i32Add().set(b);
      });
    });
  });
}

/** Widens the 4 float32 lanes of `v` into two float64 pairs, `lo` (lanes 0, 1) and `hi` (lanes 2, 3). */
function widen(f: FunctionBuilder, v: () => void, lo: Local, hi: Local): void {
  v();
  f.f64x2PromoteLow().set(lo);
  v();
  v();
  f.i8x16Shuffle(HIGH_TO_LOW).f64x2PromoteLow().set(hi);
}

/** meanOfTwo(a, b, out, groups): float32 out = round((a + b) / 2), sum and division in float64 (numpy median of an even count). */
function meanOfTwo(m: ModuleBuilder): void {
  m.func('meanOfTwo', ['i32', 'i32', 'i32', 'i32'], [], (f) => {
    const [a, b, out, groups] = [f.param(0), f.param(1), f.param(2), f.param(3)];
    const [alo, ahi, blo, bhi, two] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
    const x = f.local('v128');
    f.f64(2).f64x2Splat().set(two);
    const end = endOfGroups(f, out, groups, 16);
    whileBelow(f, out, end, 16, () => {
      f.get(a).v128Load(0).set(x);
      widen(f, () => f.get(x), alo, ahi);
      f.get(b).v128Load(0).set(x);
      widen(f, () => f.get(x), blo, bhi);
      f.get(out);
      f.get(alo).get(blo).f64x2Add().get(two).f64x2Div().f32x4Demote();
      f.get(ahi).get(bhi).f64x2Add().get(two).f64x2Div().f32x4Demote();
      f.i8x16Shuffle(JOIN_LOWS).v128Store(0);
      f.get(a).i32(16).i32Add().set(a);
      f.get(b).i32(16).i32Add().set(b);
    });
  });
}

/**
 * meanOfRows(first, count, stride, out, groups, divisor): float32 out = round((0 + r₀ + r₁ + … + r_{count−1}) / divisor),
 * rows `stride` bytes apart, the sum in float64 left to right (the trimmed mean of sorted values).
 */
function meanOfRows(m: ModuleBuilder): void {
  m.func('meanOfRows', ['i32', 'i32', 'i32', 'i32', 'i32', 'f64'], [], (f) => {
    const [first, count, stride, out, groups, divisor] = [f.param(0), f.param(1), f.param(2), f.param(3), f.param(4), f.param(5)];
    const [lo, hi, xlo, xhi, d, x] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
    const row = f.local('i32');
    const rowsEnd = f.local('i32');
    f.get(divisor).f64x2Splat().set(d);
    const end = endOfGroups(f, out, groups, 16);
    whileBelow(f, out, end, 16, () => {
      f.f64(0).f64x2Splat().set(lo);
      f.f64(0).f64x2Splat().set(hi);
      f.get(first).set(row);
      f.get(first).get(count).get(stride).i32Mul().i32Add().set(rowsEnd);
      f.block(() =>
        f.loop(() => {
          f.get(row).get(rowsEnd).i32GeU().brIf(1);
          f.get(row).v128Load(0).set(x);
          widen(f, () => f.get(x), xlo, xhi);
          f.get(lo).get(xlo).f64x2Add().set(lo);
          f.get(hi).get(xhi).f64x2Add().set(hi);
          f.get(row).get(stride).i32Add().set(row);
          f.br(0);
        }),
      );
      f.get(out);
      f.get(lo).get(d).f64x2Div().f32x4Demote();
      f.get(hi).get(d).f64x2Div().f32x4Demote();
      f.i8x16Shuffle(JOIN_LOWS).v128Store(0);
      f.get(first).i32(16).i32Add().set(first);
    });
  });
}

/**
 * squaredDistances(x, rows, count, stride, groups, sums): for each of `count` rows (float32, `stride` bytes
 * apart), adds Σ (x − row)² over 4·groups coordinates to that row's 8 float64 partial sums at sums + 64·r
 * (part p accumulates the coordinates ≡ p mod 8: independent sums keep the adds from waiting on each other).
 * Differences and squares in float64, as the reference. groups must be even.
 */
function squaredDistances(m: ModuleBuilder): void {
  m.func('squaredDistances', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (f) => {
    const [x, rows, count, stride, groups, sums] = [f.param(0), f.param(1), f.param(2), f.param(3), f.param(4), f.param(5)];
    const parts = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
    const d = f.local('v128');
    const [xp, yp, xEnd, r] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
    f.get(x).get(groups).i32(16).i32Mul().i32Add().set(xEnd);
    f.i32(0).set(r);
    whileBelow(f, r, count, 1, () => {
      parts.forEach((p, i) => f.get(sums).v128Load(16 * i).set(p));
      f.get(x).set(xp);
      f.get(rows).set(yp);
      whileBelow(f, xp, xEnd, 32, () => {
        parts.forEach((p, i) => {
          f.get(xp).v128Load64Zero(8 * i).f64x2PromoteLow().get(yp).v128Load64Zero(8 * i).f64x2PromoteLow().f64x2Sub().set(d);
          f.get(p).get(d).get(d).f64x2Mul().f64x2Add().set(p);
        });
        f.get(yp).i32(32).i32Add().set(yp);
      });
      parts.forEach((p, i) => f.get(sums).get(p).v128Store(16 * i));
      f.get(sums).i32(64).i32Add().set(sums);
      f.get(rows).get(stride).i32Add().set(rows);
    });
  });
}

/**
 * The kernels module: functions over one imported memory `env.memory`, shared so that the fold can run on a
 * worker thread over the memory the main thread stages into (fold.ts). No atomics are used inside the kernels.
 */
export function buildKernels(): Uint8Array {
  const m = new ModuleBuilder({ module: 'env', name: 'memory', minPages: 1, maxPages: 65536, shared: true });
  for (const start of ['acc', 'zero'] as const) {
    for (const end of ['sum', 'mean64', 'mean32'] as const) {
      for (let k = start === 'acc' ? 0 : 1; k <= FOLD_MAX; k++) fold(m, start, end, k);
    }
  }
  compareExchange(m);
  meanOfTwo(m);
  meanOfRows(m);
  squaredDistances(m);
  return m.build();
}
