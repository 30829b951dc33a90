import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type {
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
  DepthwiseConv2dNativeBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropInputAttrs,
  KernelConfig,
  KernelFunc,
  MaxPoolGradAttrs,
  TensorInfo,
} from '@tensorflow/tfjs';

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
 */

type Tensor4D = tf.Tensor4D;
type Shape4 = [number, number, number, number];
type Pads = { top: number; bottom: number; left: number; right: number };

const NAMES = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'MaxPoolGrad'] as const;

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

const conv2DBackpropFilter = convGradient<Conv2DBackpropFilterAttrs>('Conv2DBackpropFilter', ['x', 'dy'], (x, dy, { strides, pad, dimRoundingMode, filterShape }) => {
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
const maxPoolGrad: KernelFunc = ({ inputs, attrs, backend }) => {
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

const KERNELS: Record<(typeof NAMES)[number], KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  Conv2DBackpropInput: conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  MaxPoolGrad: maxPoolGrad,
};

/** The kernel names this module registers (replacing wasm's own Conv2DBackpropInput). */
export const WASM_GRADIENT_KERNELS: readonly string[] = NAMES;

/**
 * Registers the convolution gradient kernels for the 'wasm' backend. Idempotent; call it once the wasm
 * backend is chosen (initTfjs does). Safe before or after `tf.setBackend('wasm')`: kernels are looked up
 * per call.
 */
export function registerWasmGradients(): void {
  for (const kernelName of NAMES) {
    const kernelFunc = KERNELS[kernelName];
    if (tf.getKernel(kernelName, 'wasm')?.kernelFunc === kernelFunc) continue;
    // wasm ships a slow Conv2DBackpropInput; registering over it would only warn, so remove it first.
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    const config: KernelConfig = { kernelName, backendName: 'wasm', kernelFunc };
    tf.registerKernel(config);
  }
}

