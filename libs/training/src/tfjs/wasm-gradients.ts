import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type {
  CastAttrs,
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
  DepthwiseConv2dNativeBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropInputAttrs,
  KernelConfig,
  KernelFunc,
  MaxPoolGradAttrs,
  SumAttrs,
  TensorInfo,
} from '@tensorflow/tfjs';
import { gradientKernels, heapOffset, type GradientKernels } from './kernels/runtime';

/**
 * Gradient kernels for the tfjs 4.22 WebAssembly backend, so that it can train CNNs fast.
 *
 * As shipped, 'wasm' has every kernel the backward pass of conv2d / depthwise / pooling / batch-norm /
 * ReLU / sigmoid / swish / softmax models calls except three: `Conv2DBackpropFilter`,
 * `DepthwiseConv2dNativeBackpropFilter` and `DepthwiseConv2dNativeBackpropInput`, so `model.fit` of a
 * convolutional model throws. Two kernels it has are replaced as well: `Conv2DBackpropInput` is a plain
 * C++ loop, 10× slower than the forward convolution on the small CNN's inner layers, and `MaxPoolGrad`
 * is wrong (see maxPoolGrad below) and slow.
 *
 * The convolution gradients are rewritten as forward convolutions, which wasm runs through XNNPACK:
 *  - filter gradient: the correlation of the input with the output gradient. Moving the input channels
 *    to the batch axis and the batch to the channel axis makes it a conv2d of the transposed input with
 *    the transposed output gradient as the filter, dilated by the forward stride; the batch is then summed
 *    over by the convolution itself (conv2d) or by a small sum afterwards (depthwise, where each channel
 *    pairs only with its own output gradient);
 *  - input gradient: the forward convolution of the output gradient, dilated by the stride (zeros
 *    between rows and columns), with the spatially flipped filter and the complementary padding.
 * Only NHWC and dilation 1 are handled: wasm's forward Conv2D is NHWC-only and tfjs' own gradients
 * refuse dilated convolutions, so nothing else can reach these kernels.
 *
 * Where the heap-level SIMD kernels of ./kernels (generated WebAssembly, instantiated over the backend's own
 * memory) can run, three backward passes use them instead (see `wasmKernelPaths` for which path ran):
 *  - `Conv2DBackpropFilter` with a multiple of 4 output channels: the XNNPACK rewrite above re-packs the whole
 *    output gradient as a filter on every call (≈ 40 ms of a small-CNN step at 64 × 64); the kernel computes
 *    dW = Σ x ⊗ dy directly from a zero-padded copy of x, any kernel size, stride and padding;
 *  - `MaxPoolGrad` for 2 × 2 windows of stride 2 inside the image and a multiple of 4 channels;
 *  - `Sum` over leading axes with a multiple of 4 values left per row (the bias gradients): wasm's own Sum
 *    transposes the reduced axes to the end first.
 * Outside the backward kernels proper, wasm's `Equal` with broadcasting (a generic per-element index loop in
 * its C++, ≈ 65 ms for the small CNN's global-max-pooling gradient, which compares x with the broadcast
 * maximum) is replaced by a loop over contiguous runs for float32 and int32 inputs, and `Identity` and `Cast`
 * to the same dtype share their input's data instead of copying it (≈ 5 ms a step together).
 */

type Tensor4D = tf.Tensor4D;
type Shape4 = [number, number, number, number];
type Pads = { top: number; bottom: number; left: number; right: number };

const NAMES = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'MaxPoolGrad'] as const;
/** wasm kernels replaced by a fast path that hands everything else to the original kernel. */
const WRAPPED = ['Sum', 'Equal', 'Identity', 'Cast'] as const;
type PathKernel = 'Conv2DBackpropFilter' | 'MaxPoolGrad' | 'Sum' | 'Equal' | 'Identity' | 'Cast';

const paths: Record<PathKernel, { fast: number; fallback: number }> = {
  Conv2DBackpropFilter: { fast: 0, fallback: 0 },
  MaxPoolGrad: { fast: 0, fallback: 0 },
  Sum: { fast: 0, fallback: 0 },
  Equal: { fast: 0, fallback: 0 },
  Identity: { fast: 0, fallback: 0 },
  Cast: { fast: 0, fallback: 0 },
};

/**
 * How many calls of each kernel with a fast path took it (`fast`: a SIMD kernel of ./kernels, or for Equal the
 * run loop) and how many fell back to the generic path, since the process started. A copy; for tests.
 */
export function wasmKernelPaths(): Record<PathKernel, { fast: number; fallback: number }> {
  return Object.fromEntries(Object.entries(paths).map(([k, v]) => [k, { ...v }])) as Record<PathKernel, { fast: number; fallback: number }>;
}

/** The kernels over this backend's heap, if they can run here. */
function kernelsOf(backend: unknown): { wasm: BackendWasm; kernels: GradientKernels } | null {
  const wasm = backend as BackendWasm;
  const kernels = gradientKernels(wasm);
  return kernels ? { wasm, kernels } : null;
}

/**
 * A kernel input as a Tensor, so tf ops can run on it. The engine hands kernels the op's own Tensors;
 * a bare TensorInfo gets a wrapper sharing its data, with the backend's ref count raised so that the
 * enclosing tidy disposing the wrapper does not free the caller's data.
 */
function asTensor(info: TensorInfo | undefined): Tensor4D {
  if (!info) throw new Error('wasm gradient kernel: missing input');
  if (info instanceof tf.Tensor) return info as Tensor4D;
  const backend = tf.backend();
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info, backend) as Tensor4D;
}

/** Views t as [d0, d1, d2], permutes those axes and views the result as `shape` (a 3-D transpose is wasm's cheapest). */
function permuted(t: tf.Tensor, dims: [number, number, number], perm: [number, number, number], shape: Shape4): Tensor4D {
  return tf.reshape<tf.Rank.R4>(tf.transpose(tf.reshape(t, dims), perm), shape);
}

function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

function nhwcOnly(kernel: string, dataFormat: string | undefined, dilations?: number | [number, number]): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') throw new Error(`wasm ${kernel}: only NHWC is supported, got ${dataFormat}`);
  if (dilations !== undefined && pair(dilations).some((d) => d !== 1)) throw new Error(`wasm ${kernel}: dilations must be 1, got ${String(dilations)}`);
}

/**
 * A stride-1 convolution (dense or depthwise) with per-side padding that may be negative: a negative
 * pad crops the input instead, which is what the gradients need when 'valid' or explicit padding left
 * rows of the input unused by the forward pass.
 */
function convWithPads(depthwise: boolean, x: Tensor4D, filter: Tensor4D, pads: Pads, dilations: [number, number]): Tensor4D {
  const [b, h, w, c] = x.shape;
  const crop = { top: Math.max(0, -pads.top), bottom: Math.max(0, -pads.bottom), left: Math.max(0, -pads.left), right: Math.max(0, -pads.right) };
  const input = crop.top + crop.bottom + crop.left + crop.right > 0 ? tf.slice(x, [0, crop.top, crop.left, 0], [b, h - crop.top - crop.bottom, w - crop.left - crop.right, c]) : x;
  const explicit: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [Math.max(0, pads.top), Math.max(0, pads.bottom)],
    [Math.max(0, pads.left), Math.max(0, pads.right)],
    [0, 0],
  ];
  return depthwise ? tf.depthwiseConv2d(input, filter, 1, explicit, 'NHWC', dilations) : tf.conv2d(input, filter, 1, explicit, 'NHWC', dilations);
}

/** Inserts stride − 1 zeros between the rows and between the columns of dy: [b, (oh−1)·sh+1, (ow−1)·sw+1, c]. */
function dilate(dy: Tensor4D, [sh, sw]: [number, number]): Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [b, oh, ow, c] = dy.shape;
  // Each value gets sh−1 zero rows below and sw−1 zero columns to its right; the trailing ones are cut.
  const spread = tf.reshape<tf.Rank.R4>(tf.pad(tf.reshape(dy, [b * oh, 1, ow, 1, c]), [[0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]), [b, oh * sh, ow * sw, c]);
  return tf.slice(spread, [0, 0, 0, 0], [b, (oh - 1) * sh + 1, (ow - 1) * sw + 1, c]);
}

/** The forward pass' geometry: padding before the first row and column, from the same helper the ops use. */
function forwardPads(xShape: Shape4, filterShape: Shape4, strides: number | [number, number], pad: Conv2DBackpropFilterAttrs['pad'], dimRoundingMode: Conv2DBackpropFilterAttrs['dimRoundingMode'], depthwise: boolean) {
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode, depthwise);
  return { top: info.padInfo.top, left: info.padInfo.left, strides: [info.strideHeight, info.strideWidth] as [number, number] };
}

/**
 * dW[kh, kw, ·] = Σ_b,oh,ow x[b, oh·sh + kh − top, ow·sw + kw − left, ·] · dy[b, oh, ow, ·], as a stride-1
 * convolution over x of the output gradient used as the filter, dilated by the forward stride. The pads
 * make the output exactly kh × kw (the bottom/right one is negative when the forward pass never reached
 * the last rows or columns).
 */
function filterGradPads(x: Tensor4D, dy: Tensor4D, kh: number, kw: number, top: number, left: number, [sh, sw]: [number, number]): Pads {
  const [, h, w] = x.shape;
  const [, oh, ow] = dy.shape;
  return { top, left, bottom: (oh - 1) * sh + kh - h - top, right: (ow - 1) * sw + kw - w - left };
}

/** dX = the stride-1 convolution of the dilated dy with the flipped filter, padded so the output is h × w. */
function inputGradPads(inputShape: number[], dyDilated: Tensor4D, kh: number, kw: number, top: number, left: number): Pads {
  const [, h, w] = inputShape as Shape4;
  const [, dh, dw] = dyDilated.shape;
  return { top: kh - 1 - top, left: kw - 1 - left, bottom: h - dh + top, right: w - dw + left };
}

/**
 * A convolution-gradient kernel: checks the layout, hands `body` its two inputs as Tensors and the op's
 * attributes, and disposes every intermediate (tidy keeps only the returned gradient).
 */
function convGradient<A>(kernel: string, [first, second]: [string, string], body: (a: Tensor4D, b: Tensor4D, attrs: A) => tf.Tensor): KernelFunc {
  return ({ inputs, attrs }) => {
    const { dataFormat, dilations } = attrs as { dataFormat?: string; dilations?: number | [number, number] };
    nhwcOnly(kernel, dataFormat, dilations);
    return tf.tidy(() => body(asTensor(inputs[first]), asTensor(inputs[second]), attrs as unknown as A));
  };
}

const conv2DBackpropFilterXnnpack = convGradient<Conv2DBackpropFilterAttrs>('Conv2DBackpropFilter', ['x', 'dy'], (x, dy, { strides, pad, dimRoundingMode, filterShape }) => {
  const [b, h, w, ci] = x.shape;
  const [, oh, ow] = dy.shape;
  const [kh, kw, , co] = filterShape;
  const geo = forwardPads(x.shape, filterShape, strides, pad, dimRoundingMode, false);
  // Input channels become the batch and the batch the channels: [ci, h, w, b]; the output gradient
  // becomes an [oh, ow, b, co] filter.
  const xT = permuted(x, [b, h * w, ci], [2, 1, 0], [ci, h, w, b]);
  const dyT = permuted(dy, [b, oh * ow, co], [1, 0, 2], [oh, ow, b, co]);
  const grad = convWithPads(false, xT, dyT, filterGradPads(x, dy, kh, kw, geo.top, geo.left, geo.strides), geo.strides); // [ci, kh, kw, co]
  return tf.transpose(grad, [1, 2, 0, 3]);
});

/** Output rows per filterGrad call: about 16 KiB of dy, so a run of dy and x stays in L1 across the tiles. */
const FILTER_GRAD_CHUNK_BYTES = 16 * 1024;

/**
 * dW by the filterGrad kernel, or null when it does not apply (not float32, output channels not a multiple of
 * 4, no kernels here). x is copied into a zero-padded [b, hp, wp, ci] image, hp = (oh − 1)·sh + kh and wp alike,
 * so that every tap of every output pixel reads real memory (pads below zero crop instead); the kernel then
 * accumulates one kernel row at a time over runs of output rows.
 */
function conv2DBackpropFilterSimd(xInfo: TensorInfo, dyInfo: TensorInfo, attrs: Conv2DBackpropFilterAttrs, backend: unknown): TensorInfo | null {
  const { strides, pad, dimRoundingMode, filterShape } = attrs;
  const kernels = kernelsOf(backend);
  if (!kernels || xInfo.dtype !== 'float32' || dyInfo.dtype !== 'float32' || xInfo.shape.length !== 4) return null;
  const info = tf.backend_util.computeConv2DInfo(xInfo.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode, false);
  const { batchSize: b, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  if (co % 4 !== 0 || b * oh * ow === 0 || ci === 0) return null;
  const { wasm, kernels: k } = kernels;
  const hp = (oh - 1) * sh + kh;
  const wp = (ow - 1) * sw + kw;
  const out = wasm.makeOutput([kh, kw, ci, co], 'float32');
  const padded = wasm.makeOutput([b * hp * wp * ci], 'float32');
  try {
    // Views after both allocations: growing the heap detaches earlier ones.
    const x = wasm.typedArrayFromHeap(xInfo) as Float32Array;
    const xp = wasm.typedArrayFromHeap(padded) as Float32Array;
    (wasm.typedArrayFromHeap(out) as Float32Array).fill(0);
    xp.fill(0);
    // Columns [c0, c1) of the padded rows are the image's columns [c0 − left, c1 − left).
    const c0 = Math.max(0, left);
    const c1 = Math.min(wp, w + left);
    for (let i = 0; i < b; i++) {
      for (let r = Math.max(0, top); r < Math.min(hp, h + top); r++) {
        if (c1 <= c0) break;
        const src = ((i * h + r - top) * w + c0 - left) * ci;
        xp.set(x.subarray(src, src + (c1 - c0) * ci), ((i * hp + r) * wp + c0) * ci);
      }
    }
    const xBase = heapOffset(wasm, padded.dataId);
    const dyBase = heapOffset(wasm, dyInfo.dataId);
    const dwBase = heapOffset(wasm, out.dataId);
    const rowBytes = wp * ci * 4;
    const dyRowBytes = ow * co * 4;
    const chunk = Math.max(1, Math.floor(FILTER_GRAD_CHUNK_BYTES / dyRowBytes));
    for (let i = 0; i < b; i++) {
      for (let r0 = 0; r0 < oh; r0 += chunk) {
        const rows = Math.min(chunk, oh - r0);
        for (let t = 0; t < kh; t++) {
          k.filterGrad(xBase + (i * hp + r0 * sh + t) * rowBytes, dyBase + (i * oh + r0) * dyRowBytes, dwBase + t * kw * ci * co * 4, rows, ow, sh * rowBytes, sw * ci * 4, dyRowBytes, kw * ci, co * 4);
        }
      }
    }
  } catch (err) {
    wasm.disposeData(out.dataId);
    throw err;
  } finally {
    wasm.disposeData(padded.dataId);
  }
  return out;
}

const conv2DBackpropFilter: KernelFunc = (args) => {
  const { dataFormat, dilations } = args.attrs as { dataFormat?: string; dilations?: number | [number, number] };
  nhwcOnly('Conv2DBackpropFilter', dataFormat, dilations);
  const { x, dy } = args.inputs;
  const fast = x && dy ? conv2DBackpropFilterSimd(x, dy, args.attrs as unknown as Conv2DBackpropFilterAttrs, args.backend) : null;
  paths.Conv2DBackpropFilter[fast ? 'fast' : 'fallback']++;
  return fast ?? conv2DBackpropFilterXnnpack(args);
};

const conv2DBackpropInput = convGradient<Conv2DBackpropInputAttrs>('Conv2DBackpropInput', ['dy', 'filter'], (dy, filter, { strides, pad, dimRoundingMode, inputShape }) => {
  const [kh, kw] = filter.shape;
  const geo = forwardPads(inputShape, filter.shape, strides, pad, dimRoundingMode, false);
  const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]); // [kh, kw, co, ci]
  const dyD = dilate(dy, geo.strides);
  return convWithPads(false, dyD, flipped, inputGradPads(inputShape, dyD, kh, kw, geo.top, geo.left), [1, 1]);
});

const depthwiseBackpropFilter = convGradient<DepthwiseConv2dNativeBackpropFilterAttrs>('DepthwiseConv2dNativeBackpropFilter', ['x', 'dy'], (x, dy, { strides, pad, dimRoundingMode, filterShape }) => {
  const [b, h, w, c] = x.shape;
  const [, oh, ow] = dy.shape;
  const [kh, kw, , m] = filterShape;
  const geo = forwardPads(x.shape, filterShape, strides, pad, dimRoundingMode, true);
  // Batch × channel become the channels of one image, [1, h, w, b·c]; each of them is correlated with
  // its own output gradient(s), an [oh, ow, b·c, m] depthwise filter; the batch is summed afterwards.
  const xT = permuted(x, [b, h * w, c], [1, 0, 2], [1, h, w, b * c]);
  const dyT = permuted(dy, [b, oh * ow, c * m], [1, 0, 2], [oh, ow, b * c, m]);
  const perImage = convWithPads(true, xT, dyT, filterGradPads(x, dy, kh, kw, geo.top, geo.left, geo.strides), geo.strides); // [1, kh, kw, b·c·m]
  return tf.reshape(tf.sum(tf.reshape(perImage, [kh, kw, b, c * m]), 2), [kh, kw, c, m]);
});

const depthwiseBackpropInput = convGradient<DepthwiseConv2dNativeBackpropInputAttrs>('DepthwiseConv2dNativeBackpropInput', ['dy', 'filter'], (dy, filter, { strides, pad, dimRoundingMode, inputShape }) => {
  const [kh, kw, c, m] = filter.shape;
  const geo = forwardPads(inputShape, filter.shape, strides, pad, dimRoundingMode, true);
  // Output channel c·m + j came from input channel c through filter[:, :, c, j]: a multiplier-1 depthwise
  // convolution of dy with the flipped filter reshaped to c·m channels, then summed over j.
  const flipped = tf.reshape<tf.Rank.R4>(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]);
  const dyD = dilate(dy, geo.strides);
  const dx = convWithPads(true, dyD, flipped, inputGradPads(inputShape, dyD, kh, kw, geo.top, geo.left), [1, 1]);
  if (m === 1) return dx;
  const [b, h, w] = dx.shape;
  return tf.sum(tf.reshape(dx, [b, h, w, c, m]), 4);
});

/**
 * Max-pooling gradient: dy goes to the first maximum of each window, as on the cpu backend. wasm's own
 * MaxPoolGrad starts its running maximum at FLT_MIN (the smallest positive float), so a window with no
 * value above it (all negative, or zeros) sends its gradient to the tensor's first element or nowhere;
 * it also takes 40 ms on the small CNN's first layer at 64×64, batch 32 (this loop: 17 ms). No forward
 * kernel expresses "scatter to the argmax" (MaxPoolWithArgmax and Dilation2DBackpropInput share the
 * FLT_MIN start), so this one is a plain loop over the wasm heap.
 */
const maxPoolGradLoop: KernelFunc = ({ inputs, attrs, backend }) => {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;
  const wasm = backend as BackendWasm;
  const dyInfo = inputs.dy;
  const xInfo = inputs.input;
  if (!dyInfo || !xInfo) throw new Error('wasm MaxPoolGrad: missing input');
  const info = tf.backend_util.computePool2DInfo(xInfo.shape as Shape4, filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const out = wasm.makeOutput(xInfo.shape, 'float32');
  // Views after the allocation: growing the wasm memory detaches earlier ones.
  const x = wasm.typedArrayFromHeap(xInfo) as Float32Array;
  const dy = wasm.typedArrayFromHeap(dyInfo) as Float32Array;
  const dx = wasm.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const rowStride = inWidth * c;
  let o = 0; // offset of dy[b, oh, ow, k]
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * strideHeight - top;
      const fh0 = Math.max(0, -h0);
      const fh1 = Math.min(filterHeight, inHeight - h0);
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = ow * strideWidth - left;
        const fw0 = Math.max(0, -w0);
        const fw1 = Math.min(filterWidth, inWidth - w0);
        const corner = ((b * inHeight + h0) * inWidth + w0) * c; // x[b, h0, w0, 0], maybe outside the image
        for (let k = 0; k < c; k++, o++) {
          let best = -Infinity;
          let at = -1;
          for (let fh = fh0; fh < fh1; fh++) {
            for (let fw = fw0, p = corner + fh * rowStride + fw0 * c + k; fw < fw1; fw++, p += c) {
              // Strictly greater: the first maximum wins and NaN never does, as in tfjs-backend-cpu.
              if (x[p]! > best) {
                best = x[p]!;
                at = p;
              }
            }
          }
          if (at >= 0) dx[at] += dy[o]!;
        }
      }
    }
  }
  return out;
};

/**
 * The same gradient by the maxPoolGrad2x2 kernel, or null when it does not apply: 2 × 2 windows of stride 2
 * that all lie inside the image (no padding before it; 'same' on even sizes is 'valid'), float32, a multiple
 * of 4 channels. The windows do not overlap, so each value is written once; rows and columns the windows
 * never reach (odd sizes) are zeroed first.
 */
function maxPoolGradSimd(xInfo: TensorInfo, dyInfo: TensorInfo, attrs: MaxPoolGradAttrs, backend: unknown): TensorInfo | null {
  const kernels = kernelsOf(backend);
  if (!kernels || xInfo.dtype !== 'float32' || dyInfo.dtype !== 'float32' || xInfo.shape.length !== 4) return null;
  const info = tf.backend_util.computePool2DInfo(xInfo.shape as Shape4, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { batchSize: b, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const fits = info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 && info.strideWidth === 2 && info.padInfo.top === 0 && info.padInfo.left === 0;
  if (!fits || 2 * oh > h || 2 * ow > w || c % 4 !== 0 || b * oh * ow * c === 0) return null;
  const { wasm, kernels: k } = kernels;
  const out = wasm.makeOutput(xInfo.shape, 'float32');
  if (2 * oh < h || 2 * ow < w) (wasm.typedArrayFromHeap(out) as Float32Array).fill(0);
  const [x, dy, dx] = [heapOffset(wasm, xInfo.dataId), heapOffset(wasm, dyInfo.dataId), heapOffset(wasm, out.dataId)];
  const imageBytes = h * w * c * 4;
  for (let i = 0; i < b; i++) k.maxPoolGrad2x2(x + i * imageBytes, dy + i * oh * ow * c * 4, dx + i * imageBytes, oh, ow, c * 4, w * c * 4);
  return out;
}

const maxPoolGrad: KernelFunc = (args) => {
  const { dy, input } = args.inputs;
  const fast = dy && input ? maxPoolGradSimd(input, dy, args.attrs as unknown as MaxPoolGradAttrs, args.backend) : null;
  paths.MaxPoolGrad[fast ? 'fast' : 'fallback']++;
  return fast ?? maxPoolGradLoop(args);
};

/** The wasm kernels that WRAPPED replaces, as registered before (so that the fallbacks call them). */
const originals = new Map<string, KernelFunc>();

function original(kernel: string): KernelFunc {
  const f = originals.get(kernel);
  if (!f) throw new Error(`wasm ${kernel}: the backend's own kernel was not registered`);
  return f;
}

/**
 * Sum over leading axes (e.g. a bias gradient, Σ over b, h, w of [b, h, w, c]) by the columnSums kernel: the
 * input read once as a [rows, cols] matrix, sums in float64. Anything else, or cols not a multiple of 4, goes
 * to wasm's own Sum.
 */
const sum: KernelFunc = (args) => {
  const { x } = args.inputs;
  const { axis, keepDims } = args.attrs as unknown as SumAttrs;
  const kernels = kernelsOf(args.backend);
  if (kernels && x && x.dtype === 'float32' && x.shape.length > 0) {
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const leading = [...new Set(axes)].sort((a, b) => a - b);
    const k = leading.length;
    const cols = tf.util.sizeFromShape(x.shape.slice(k));
    const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
    if (k > 0 && leading.every((a, i) => a === i) && cols % 4 === 0 && cols > 0 && rows > 0) {
      const { wasm, kernels: kk } = kernels;
      const shape = keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
      const out = wasm.makeOutput(shape, 'float32');
      kk.columnSums(heapOffset(wasm, x.dataId), heapOffset(wasm, out.dataId), rows, cols * 4);
      paths.Sum.fast++;
      return out;
    }
  }
  paths.Sum.fallback++;
  return original('Sum')(args);
};

/**
 * Equal of two float32 or two int32 tensors of different shapes (broadcasting): a loop over the output's last
 * axis, each input read contiguously or as one repeated value, under an index walk of the other axes. Same
 * shapes (wasm's own loop is fast there) and other dtypes go to wasm's Equal. JavaScript `===` on the stored
 * values is the C++ `==`: NaN equals nothing, −0 equals 0.
 */
const equal: KernelFunc = (args) => {
  const { a, b } = args.inputs;
  const numeric = a && b && a.dtype === b.dtype && (a.dtype === 'float32' || a.dtype === 'int32');
  if (!a || !b || !numeric || tf.util.arraysEqual(a.shape, b.shape)) {
    paths.Equal.fallback++;
    return original('Equal')(args);
  }
  const wasm = args.backend as BackendWasm;
  const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const rank = shape.length;
  const out = wasm.makeOutput(shape, 'bool');
  const size = tf.util.sizeFromShape(shape);
  if (size > 0) {
    const av = wasm.typedArrayFromHeap(a) as Float32Array | Int32Array;
    const bv = wasm.typedArrayFromHeap(b) as Float32Array | Int32Array;
    const ov = wasm.typedArrayFromHeap(out) as Uint8Array;
    /** Element strides of an input along the output's axes: 0 where it is broadcast. */
    const stridesOf = (s: number[]) => {
      const padded = [...Array<number>(rank - s.length).fill(1), ...s];
      const st = new Array<number>(rank).fill(0);
      for (let i = rank - 1, acc = 1; i >= 0; i--) {
        st[i] = padded[i] === 1 ? 0 : acc;
        acc *= padded[i]!;
      }
      return st;
    };
    const sa = stridesOf(a.shape);
    const sb = stridesOf(b.shape);
    const inner = shape[rank - 1]!;
    const ia = sa[rank - 1]!;
    const ib = sb[rank - 1]!;
    const index = new Array<number>(Math.max(0, rank - 1)).fill(0);
    let pa = 0;
    let pb = 0;
    for (let o = 0; o < size; o += inner) {
      // +(…) rather than a conditional: no branch to mispredict on mixed outcomes (3× faster on random ones).
      if (ia === 1 && ib === 1) for (let i = 0; i < inner; i++) ov[o + i] = +(av[pa + i] === bv[pb + i]);
      else for (let i = 0, qa = pa, qb = pb; i < inner; i++, qa += ia, qb += ib) ov[o + i] = +(av[qa] === bv[qb]);
      // Next index over the outer axes (odometer), moving both input offsets along.
      for (let d = rank - 2; d >= 0; d--) {
        pa += sa[d]!;
        pb += sb[d]!;
        if (++index[d]! < shape[d]!) break;
        pa -= sa[d]! * shape[d]!;
        pb -= sb[d]! * shape[d]!;
        index[d] = 0;
      }
    }
  }
  paths.Equal.fast++;
  return out;
};

const KERNELS: Record<(typeof NAMES)[number], KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  Conv2DBackpropInput: conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  MaxPoolGrad: maxPoolGrad,
};

/**
 * Identity (tf.clone, and the engine's copies of every tensor it saves for the backward pass) shares the
 * input's data, with its reference count raised, as the cpu and webgl backends do: tensors are immutable and
 * no wasm kernel writes into an input, so the copy wasm's own Identity makes (≈ 4 ms a small-CNN step) buys
 * nothing. Strings keep wasm's kernel.
 */
const identity: KernelFunc = (args) => {
  const { x } = args.inputs;
  if (!x || x.dtype === 'string') {
    paths.Identity.fallback++;
    return original('Identity')(args);
  }
  (args.backend as BackendWasm).incRef(x.dataId);
  paths.Identity.fast++;
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/**
 * Cast to the dtype the tensor already has (ReLU's gradient casts its float32 mask to float32) shares the data
 * as Identity does; wasm's Cast copies it. Real conversions keep wasm's kernel.
 */
const cast: KernelFunc = (args) => {
  const { x } = args.inputs;
  const { dtype } = args.attrs as unknown as CastAttrs;
  if (!x || x.dtype !== dtype || dtype === 'string' || dtype === 'complex64') {
    paths.Cast.fallback++;
    return original('Cast')(args);
  }
  (args.backend as BackendWasm).incRef(x.dataId);
  paths.Cast.fast++;
  return { dataId: x.dataId, shape: x.shape, dtype };
};

const WRAPPERS: Record<(typeof WRAPPED)[number], KernelFunc> = { Sum: sum, Equal: equal, Identity: identity, Cast: cast };

/** The kernel names this module registers (replacing wasm's own Conv2DBackpropInput and MaxPoolGrad, and wrapping its Sum, Equal, Identity and Cast). */
export const WASM_GRADIENT_KERNELS: readonly string[] = [...NAMES, ...WRAPPED];

function register(kernelName: string, kernelFunc: KernelFunc): void {
  // Registering over an existing kernel would only warn, so remove it first.
  if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
  const config: KernelConfig = { kernelName, backendName: 'wasm', kernelFunc };
  tf.registerKernel(config);
}

/**
 * Registers the gradient kernels for the 'wasm' backend. Idempotent; call it once the wasm backend is
 * chosen (initTfjs does). Safe before or after `tf.setBackend('wasm')`: kernels are looked up per call.
 * Sum, Equal, Identity and Cast are wrapped only once '@tensorflow/tfjs-backend-wasm' has registered its own (it does on import).
 */
export function registerWasmGradients(): void {
  for (const kernelName of NAMES) {
    const kernelFunc = KERNELS[kernelName];
    if (tf.getKernel(kernelName, 'wasm')?.kernelFunc !== kernelFunc) register(kernelName, kernelFunc);
  }
  for (const kernelName of WRAPPED) {
    const kernelFunc = WRAPPERS[kernelName];
    const current = tf.getKernel(kernelName, 'wasm')?.kernelFunc;
    if (!current || current === kernelFunc) continue;
    originals.set(kernelName, current);
    register(kernelName, kernelFunc);
  }
}

