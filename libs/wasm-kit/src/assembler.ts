/**
 * A tiny WebAssembly binary emitter: just what the aggregation kernels need (one imported memory, functions
 * with i32/f64/v128 locals, structured control flow, scalar and SIMD loads, stores and arithmetic). Used by
 * `kernels/build/generate.ts` to produce `kernels/generated/kernels-wasm.ts`, and by libs/training's
 * `tfjs/kernels/build/generate.ts` for its gradient kernels; nothing calls it at run time.
 * Opcodes: WebAssembly core specification 2.0, §5.4 (instructions) and the fixed-width SIMD proposal.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

function uleb(value: number, out: number[]): void {
  let v = value >>> 0;
  if (value < 0 || !Number.isInteger(value) || value > 0xffffffff) throw new RangeError(`uleb: ${value}`);
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

function sleb(value: number, out: number[]): void {
  if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw new RangeError(`sleb: ${value}`);
  let v = value | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(s: string, out: number[]): void {
  const bytes = Buffer.from(s, 'utf8');
  uleb(bytes.length, out);
  out.push(...bytes);
}

/** A local variable (or parameter) of the function being built. */
export interface Local {
  readonly index: number;
  readonly type: ValType;
}

/** Natural alignment (log2 bytes) of each memory access. */
const ALIGN = { i32: 2, f32: 2, f64: 3, v128: 4, v64: 3 } as const;

/** Emits one function body. Methods append instructions and return `this` so code reads top to bottom. */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];
  private readonly paramCount: number;

  constructor(readonly params: readonly ValType[], readonly results: readonly ValType[]) {
    this.paramCount = params.length;
  }

  param(i: number): Local {
    if (i >= this.paramCount) throw new RangeError(`param ${i}`);
    return { index: i, type: this.params[i]! };
  }

  local(type: ValType): Local {
    this.localTypes.push(type);
    return { index: this.paramCount + this.localTypes.length - 1, type };
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  private simd(opcode: number): this {
    this.code.push(0xfd);
    uleb(opcode, this.code);
    return this;
  }

  private memarg(alignLog2: number, offset: number): this {
    uleb(alignLog2, this.code);
    uleb(offset, this.code);
    return this;
  }

  // ---- variables and constants
  get(l: Local): this {
    this.op(0x20);
    uleb(l.index, this.code);
    return this;
  }
  set(l: Local): this {
    this.op(0x21);
    uleb(l.index, this.code);
    return this;
  }
  /** Sets the local and leaves the value on the stack. */
  tee(l: Local): this {
    this.op(0x22);
    uleb(l.index, this.code);
    return this;
  }
  i32(value: number): this {
    this.op(0x41);
    sleb(value, this.code);
    return this;
  }
  f64(value: number): this {
    this.op(0x44);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    this.code.push(...b);
    return this;
  }

  // ---- control: block/loop take a body callback; br depth counts enclosing labels (0 = innermost)
  block(body: () => void): this {
    this.op(0x02, 0x40);
    body();
    return this.op(0x0b);
  }
  loop(body: () => void): this {
    this.op(0x03, 0x40);
    body();
    return this.op(0x0b);
  }
  br(depth: number): this {
    this.op(0x0c);
    uleb(depth, this.code);
    return this;
  }
  brIf(depth: number): this {
    this.op(0x0d);
    uleb(depth, this.code);
    return this;
  }
  /** `if` (i32 condition on the stack) with an optional `else`; no result value. Counts as one label for br. */
  ifThen(then: () => void, otherwise?: () => void): this {
    this.op(0x04, 0x40);
    then();
    if (otherwise) {
      this.op(0x05);
      otherwise();
    }
    return this.op(0x0b);
  }

  // ---- i32
  i32Add(): this {
    return this.op(0x6a);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32GeU(): this {
    return this.op(0x4f);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32Eq(): this {
    return this.op(0x46);
  }
  i32Ne(): this {
    return this.op(0x47);
  }
  i32LtS(): this {
    return this.op(0x48);
  }
  i32LtU(): this {
    return this.op(0x49);
  }
  i32GtS(): this {
    return this.op(0x4a);
  }
  i32GeS(): this {
    return this.op(0x4e);
  }
  i32And(): this {
    return this.op(0x71);
  }
  i32Shl(): this {
    return this.op(0x74);
  }
  i32Load(offset = 0): this {
    return this.op(0x28).memarg(ALIGN.i32, offset);
  }

  // ---- scalar floats
  f64Load(offset = 0): this {
    return this.op(0x2b).memarg(ALIGN.f64, offset);
  }
  f32(value: number): this {
    this.op(0x43);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.code.push(...b);
    return this;
  }
  f32Load(offset = 0): this {
    return this.op(0x2a).memarg(ALIGN.f32, offset);
  }
  f32Store(offset = 0): this {
    return this.op(0x38).memarg(ALIGN.f32, offset);
  }

  // ---- SIMD (v128)
  v128Load(offset = 0): this {
    return this.simd(0x00).memarg(ALIGN.v128, offset);
  }
  v128Store(offset = 0): this {
    return this.simd(0x0b).memarg(ALIGN.v128, offset);
  }
  /** Loads 8 bytes into the low half, zeroes the high half. */
  v128Load64Zero(offset = 0): this {
    return this.simd(0x5d).memarg(ALIGN.v64, offset);
  }
  /** Lanes from two vectors: result byte k = concat(a, b)[lanes[k]]. */
  i8x16Shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => l < 0 || l > 31)) throw new RangeError('shuffle lanes');
    this.simd(0x0d);
    this.code.push(...lanes);
    return this;
  }
  f64x2Splat(): this {
    return this.simd(0x14);
  }
  /** Loads one float32 (4 bytes) into all four lanes. */
  v128Load32Splat(offset = 0): this {
    return this.simd(0x09).memarg(ALIGN.f32, offset);
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  v128And(): this {
    return this.simd(0x4e);
  }
  /** a & ~b. */
  v128AndNot(): this {
    return this.simd(0x4f);
  }
  v128Or(): this {
    return this.simd(0x50);
  }
  /** (a & mask) | (b & ~mask), operands pushed in the order a, b, mask. */
  v128Bitselect(): this {
    return this.simd(0x52);
  }
  /** Lane-wise a == b: all ones or all zeros (NaN is never equal). */
  f32x4Eq(): this {
    return this.simd(0x41);
  }
  /** Lane-wise a > b: all ones or all zeros (false when either is NaN). */
  f32x4Gt(): this {
    return this.simd(0x44);
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Sub(): this {
    return this.simd(0xe5);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  /** b < a ? b : a, lane-wise (JavaScript `<`: a NaN or an equal pair keeps the first operand). */
  f32x4Pmin(): this {
    return this.simd(0xea);
  }
  /** a < b ? b : a, lane-wise. */
  f32x4Pmax(): this {
    return this.simd(0xeb);
  }
  f32x4Demote(): this {
    return this.simd(0x5e);
  }
  f64x2PromoteLow(): this {
    return this.simd(0x5f);
  }
  f64x2Add(): this {
    return this.simd(0xf0);
  }
  f64x2Sub(): this {
    return this.simd(0xf1);
  }
  f64x2Mul(): this {
    return this.simd(0xf2);
  }
  f64x2Div(): this {
    return this.simd(0xf3);
  }

  /** The function's code entry: locals declaration then the body. */
  encode(): number[] {
    const body: number[] = [];
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, body);
    for (const [n, t] of groups) {
      uleb(n, body);
      body.push(VALTYPE[t]);
    }
    body.push(...this.code, 0x0b);
    const out: number[] = [];
    uleb(body.length, out);
    out.push(...body);
    return out;
  }
}

export interface MemoryImport {
  readonly module: string;
  readonly name: string;
  /** Pages of 64 KiB. */
  readonly minPages: number;
  readonly maxPages: number;
  readonly shared: boolean;
}

/** A module of exported functions over one imported linear memory. */
export class ModuleBuilder {
  private readonly functions: { name: string; fn: FunctionBuilder }[] = [];

  constructor(private readonly memory: MemoryImport) {}

  func(exportName: string, params: readonly ValType[], results: readonly ValType[], build: (f: FunctionBuilder) => void): void {
    const fn = new FunctionBuilder(params, results);
    build(fn);
    this.functions.push({ name: exportName, fn });
  }

  build(): Uint8Array {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, content: number[]) => {
      out.push(id);
      uleb(content.length, out);
      out.push(...content);
    };
    // types: one per function (duplicates are allowed and keep this simple)
    const types: number[] = [];
    uleb(this.functions.length, types);
    for (const { fn } of this.functions) {
      types.push(0x60);
      uleb(fn.params.length, types);
      for (const p of fn.params) types.push(VALTYPE[p]);
      uleb(fn.results.length, types);
      for (const r of fn.results) types.push(VALTYPE[r]);
    }
    section(1, types);
    const imports: number[] = [];
    uleb(1, imports);
    name(this.memory.module, imports);
    name(this.memory.name, imports);
    imports.push(0x02, this.memory.shared ? 0x03 : 0x01);
    uleb(this.memory.minPages, imports);
    uleb(this.memory.maxPages, imports);
    section(2, imports);
    const funcs: number[] = [];
    uleb(this.functions.length, funcs);
    this.functions.forEach((_, i) => uleb(i, funcs));
    section(3, funcs);
    const exports: number[] = [];
    uleb(this.functions.length, exports);
    this.functions.forEach(({ name: n }, i) => {
      name(n, exports);
      exports.push(0x00);
      uleb(i, exports);
    });
    section(7, exports);
    const code: number[] = [];
    uleb(this.functions.length, code);
    for (const { fn } of this.functions) code.push(...fn.encode());
    section(10, code);
    return Uint8Array.from(out);
  }
}
