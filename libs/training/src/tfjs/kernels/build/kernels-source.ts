import { ModuleBuilder, type FunctionBuilder, type Local } from '@fedledger/wasm-kit';

/**
 * WebAssembly SIMD kernels for the backward pass of CNNs on tfjs' wasm backend, written against fl-core's tiny
 * assembler. `generate.ts` turns them into `../generated/gradient-kernels-wasm.ts`; `../runtime.ts` instantiates
 * those bytes over the wasm backend's own memory, so the kernels read and write tensors where they lie.
 *
 * Conventions: every pointer is a byte offset into the imported memory `env.memory` (tfjs' heap; not shared,
 * it may grow between calls but never during one); all data is float32; pointers are compared unsigned. The
 * callers (`../../wasm-gradients.ts`) check every geometry before calling: the kernels trust their arguments.
 */

/** Low 8 bytes of the first vector, then low 8 bytes of the second (two demoted halves into one f32x4). */
const JOIN_LOWS = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
/** Moves the high 8 bytes of a vector to the low half (to widen float32 lanes 2 and 3). */
const HIGH_TO_LOW = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];

/** `do { body(); } while (p <u end)`: at least one iteration. */
function doWhileBelow(f: FunctionBuilder, p: Local, end: Local, body: () => void): void {
  f.loop(() => {
    body();
    f.get(p).get(end).i32LtU().brIf(0);
  });
}

/** `while (p <u end) { body(); }`. */
function whileBelow(f: FunctionBuilder, p: Local, end: Local, body: () => void): void {
  f.block(() =>
    f.loop(() => {
      f.get(p).get(end).i32GeU().brIf(1);
      body();
      f.br(0);
    }),
  );
}

/** p += step (an i32 local or a constant). */
function advance(f: FunctionBuilder, p: Local, step: Local | number): void {
  f.get(p);
  if (typeof step === 'number') f.i32(step);
  else f.get(step);
  f.i32Add().set(p);
}

/**
 * filterGrad(x, dy, dw, rows, ow, xRowBytes, xPixBytes, dyRowBytes, m, coBytes): for one kernel row kh and a
 * run of `rows` output rows of one image,
 *   dw[j, o] += Σ_row Σ_{w < ow} x[row·xRowBytes + w·xPixBytes + 4j] · dy[row·dyRowBytes + w·coBytes + 4o]
 * for j < m and o < coBytes/4 (coBytes a multiple of 16; rows, ow, m ≥ 1). With x the zero-padded input at
 * (b, first row · stride + kh, 0, 0), xPixBytes = stride·ci·4 and m = kw·ci, row j of this block of dw is the
 * filter gradient dW[kh, j / ci, j % ci, ·]: the columns (kw, ci) of one kernel row are contiguous in NHWC.
 *
 * dw is the [m, co] matrix Xᵀ·DY over the run's pixels, computed in register tiles of 4 rows × 8 columns (8
 * accumulators, 4 broadcast x values, one dy vector at a time: 14 of the 16 SIMD registers V8 allocates on
 * x64), read from and written back to dw once per tile; ragged edges use 1–3 rows and 4 columns.
 */
function filterGrad(m: ModuleBuilder): void {
  m.func('filterGrad', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (f) => {
    const [x, dy, dw, rows, ow, xRowBytes, xPixBytes, dyRowBytes, mRows, coBytes] = Array.from({ length: 10 }, (_, i) => f.param(i));
    const [j, cv, dwp, xr, dyr, dyEnd, xp, dyp, pixEnd, owBytes] = Array.from({ length: 10 }, () => f.local('i32'));
    const acc = Array.from({ length: 4 }, () => Array.from({ length: 2 }, () => f.local('v128')));
    const s = Array.from({ length: 4 }, () => f.local('v128'));
    const d = f.local('v128');
    f.get(ow).get(coBytes).i32Mul().set(owBytes);

    /** One R × V tile at rows j.., columns cv.. (bytes). */
    const tile = (r: number, v: number) => {
      f.get(dw).get(j).get(coBytes).i32Mul().i32Add().get(cv).i32Add().set(dwp);
      for (let a = 0; a < r; a++) {
        for (let b = 0; b < v; b++) {
          f.get(dwp);
          if (a > 0) f.get(coBytes).i32(a).i32Mul().i32Add();
          f.v128Load(16 * b).set(acc[a]![b]!);
        }
      }
      f.get(x).get(j).i32(4).i32Mul().i32Add().set(xr);
      f.get(dy).get(cv).i32Add().set(dyr);
      f.get(dyr).get(rows).get(dyRowBytes).i32Mul().i32Add().set(dyEnd);
      doWhileBelow(f, dyr, dyEnd, () => {
        f.get(xr).set(xp);
        f.get(dyr).set(dyp);
        f.get(dyr).get(owBytes).i32Add().set(pixEnd);
        doWhileBelow(f, dyp, pixEnd, () => {
          for (let a = 0; a < r; a++) f.get(xp).v128Load32Splat(4 * a).set(s[a]!);
          for (let b = 0; b < v; b++) {
            f.get(dyp).v128Load(16 * b).set(d);
            for (let a = 0; a < r; a++) f.get(acc[a]![b]!).get(s[a]!).get(d).f32x4Mul().f32x4Add().set(acc[a]![b]!);
          }
          advance(f, xp, xPixBytes);
          advance(f, dyp, coBytes);
        });
        advance(f, xr, xRowBytes);
        advance(f, dyr, dyRowBytes);
      });
      for (let a = 0; a < r; a++) {
        for (let b = 0; b < v; b++) {
          f.get(dwp);
          if (a > 0) f.get(coBytes).i32(a).i32Mul().i32Add();
          f.get(acc[a]![b]!).v128Store(16 * b);
        }
      }
    };
    /** Every column tile of the rows j.. j + r − 1: 8 columns at a time, then 4. */
    const columns = (r: number) => {
      f.i32(0).set(cv);
      f.block(() =>
        f.loop(() => {
          f.get(cv).i32(32).i32Add().get(coBytes).i32GtS().brIf(1);
          tile(r, 2);
          advance(f, cv, 32);
          f.br(0);
        }),
      );
      f.get(cv).get(coBytes).i32LtS().ifThen(() => tile(r, 1));
    };

    f.i32(0).set(j);
    f.block(() =>
      f.loop(() => {
        f.get(j).i32(4).i32Add().get(mRows).i32GtS().brIf(1);
        columns(4);
        advance(f, j, 4);
        f.br(0);
      }),
    );
    // 1–3 rows left (m = kw·ci is not a multiple of 4 when ci is not).
    const rest = f.local('i32');
    f.get(mRows).get(j).i32Sub().set(rest);
    f.get(rest).i32(3).i32Eq().ifThen(
      () => columns(3),
      () => {
        f.get(rest).i32(2).i32Eq().ifThen(
          () => columns(2),
          () => {
            f.get(rest).i32(1).i32Eq().ifThen(() => columns(1));
          },
        );
      },
    );
  });
}

/**
 * maxPoolGrad2x2(x, dy, dx, oh, ow, cBytes, xRowBytes): the gradient of a 2 × 2, stride-2 max pool whose
 * windows all lie inside the image, for one image: x and dx point at its first pixel (rows xRowBytes apart,
 * pixels cBytes apart, cBytes a multiple of 16), dy at its [oh, ow, c] output gradient. Each window's dy goes
 * to its first strictly greatest value in row-major order, starting from −∞ (a window of NaN or −∞ sends it
 * nowhere), as tfjs-backend-cpu does; the window's other three values get 0. Every dx value inside the
 * windows is written; rows and columns beyond them (odd sizes) are left alone.
 */
function maxPoolGrad2x2(m: ModuleBuilder): void {
  m.func('maxPoolGrad2x2', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (f) => {
    const [x, dy, dx, oh, ow, cBytes, xRowBytes] = Array.from({ length: 7 }, (_, i) => f.param(i));
    const [rowX, rowEnd, p, pEnd, q, qEnd, toDx, below, belowRight, twoRows, twoPixels] = Array.from({ length: 11 }, () => f.local('i32'));
    const [a, b, c, e, g, best, ca, cb, cc, ce, negInf] = Array.from({ length: 11 }, () => f.local('v128'));
    f.get(dx).get(x).i32Sub().set(toDx);
    f.get(xRowBytes).get(cBytes).i32Add().set(belowRight);
    f.get(xRowBytes).set(below);
    f.get(xRowBytes).i32(2).i32Mul().set(twoRows);
    f.get(cBytes).i32(2).i32Mul().set(twoPixels);
    f.f32(-Infinity).f32x4Splat().set(negInf);
    f.get(x).set(rowX);
    f.get(x).get(oh).get(twoRows).i32Mul().i32Add().set(rowEnd);
    doWhileBelow(f, rowX, rowEnd, () => {
      f.get(rowX).set(p);
      f.get(rowX).get(ow).get(twoPixels).i32Mul().i32Add().set(pEnd);
      doWhileBelow(f, p, pEnd, () => {
        f.get(p).set(q);
        f.get(p).get(cBytes).i32Add().set(qEnd);
        doWhileBelow(f, q, qEnd, () => {
          f.get(q).v128Load(0).set(a);
          f.get(q).get(cBytes).i32Add().v128Load(0).set(b);
          f.get(q).get(below).i32Add().v128Load(0).set(c);
          f.get(q).get(belowRight).i32Add().v128Load(0).set(e);
          f.get(dy).v128Load(0).set(g);
          // c_k: value k beats everything before it (strictly, so ties keep the first and NaN never wins).
          f.get(a).get(negInf).f32x4Gt().set(ca);
          f.get(a).get(negInf).get(ca).v128Bitselect().set(best);
          f.get(b).get(best).f32x4Gt().set(cb);
          f.get(b).get(best).get(cb).v128Bitselect().set(best);
          f.get(c).get(best).f32x4Gt().set(cc);
          f.get(c).get(best).get(cc).v128Bitselect().set(best);
          f.get(e).get(best).f32x4Gt().set(ce);
          // The last k with c_k is the first maximum: mask_k = c_k & ~(c_{k+1} | … | c_3).
          f.get(q).get(toDx).i32Add().get(belowRight).i32Add().get(g).get(ce).v128And().v128Store(0);
          f.get(ce).set(e); // e: c_3
          f.get(q).get(toDx).i32Add().get(below).i32Add().get(g).get(cc).v128And().get(e).v128AndNot().v128Store(0);
          f.get(e).get(cc).v128Or().set(e); // e: c_2 | c_3
          f.get(q).get(toDx).i32Add().get(cBytes).i32Add().get(g).get(cb).v128And().get(e).v128AndNot().v128Store(0);
          f.get(e).get(cb).v128Or().set(e); // e: c_1 | c_2 | c_3
          f.get(q).get(toDx).i32Add().get(g).get(ca).v128And().get(e).v128AndNot().v128Store(0);
          advance(f, q, 16);
          advance(f, dy, 16);
        });
        advance(f, p, twoPixels);
      });
      advance(f, rowX, twoRows);
    });
  });
}

/**
 * columnSums(x, out, rows, cBytes): out[k] = Σ_r x[r, k] for the float32 matrix x of `rows` rows of cBytes
 * bytes (a multiple of 16): the sum over every leading axis, e.g. a bias gradient Σ_b,h,w dy[b, h, w, ·].
 * Summed in float64 row after row and rounded once, like tfjs-backend-cpu's Sum; 8 columns at a time, then 4.
 */
function columnSums(m: ModuleBuilder): void {
  m.func('columnSums', ['i32', 'i32', 'i32', 'i32'], [], (f) => {
    const [x, out, rows, cBytes] = [f.param(0), f.param(1), f.param(2), f.param(3)];
    const [cv, p, end, span] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
    const acc = Array.from({ length: 4 }, () => f.local('v128'));
    const v = f.local('v128');
    f.get(rows).get(cBytes).i32Mul().set(span);
    const group = (vectors: number) => {
      for (let k = 0; k < 2 * vectors; k++) f.f64(0).f64x2Splat().set(acc[k]!);
      f.get(x).get(cv).i32Add().set(p);
      f.get(p).get(span).i32Add().set(end);
      doWhileBelow(f, p, end, () => {
        for (let k = 0; k < vectors; k++) {
          f.get(p).v128Load(16 * k).set(v);
          f.get(acc[2 * k]!).get(v).f64x2PromoteLow().f64x2Add().set(acc[2 * k]!);
          f.get(acc[2 * k + 1]!).get(v).get(v).i8x16Shuffle(HIGH_TO_LOW).f64x2PromoteLow().f64x2Add().set(acc[2 * k + 1]!);
        }
        advance(f, p, cBytes);
      });
      for (let k = 0; k < vectors; k++) {
        f.get(out).get(cv).i32Add();
        f.get(acc[2 * k]!).f32x4Demote().get(acc[2 * k + 1]!).f32x4Demote().i8x16Shuffle(JOIN_LOWS);
        f.v128Store(16 * k);
      }
    };
    f.i32(0).set(cv);
    const pairsEnd = f.local('i32');
    f.get(cBytes).i32(-32).i32And().set(pairsEnd);
    whileBelow(f, cv, pairsEnd, () => {
      group(2);
      advance(f, cv, 32);
    });
    f.get(cv).get(cBytes).i32LtU().ifThen(() => group(1));
  });
}

/** The gradient kernels module: functions over one imported, unshared memory `env.memory` (tfjs-backend-wasm's heap). */
export function buildGradientKernels(): Uint8Array {
  const m = new ModuleBuilder({ module: 'env', name: 'memory', minPages: 1, maxPages: 65536, shared: false });
  filterGrad(m);
  maxPoolGrad2x2(m);
  columnSums(m);
  return m.build();
}
