import { tf } from '../tfjs/backend';
import { registerImageModel, type GraphBuilder, type Tensor } from './blocks';
import type { ModelBuildOptions, ModelSpec } from './zoo';

/**
 * EfficientNet-B0 as torchvision builds it (Tan & Le 2019; torchvision.models.efficientnet_b0): a 3×3
 * stride-2 stem to 32 channels, seven stages of MBConv blocks, a 1×1 convolution to 1280 channels, global
 * average pooling, dropout 0.2 and a dense softmax layer ('classifier.1'). Activations are swish (= SiLU,
 * x·sigmoid(x), which tfjs 4.22 offers as the 'swish' activation).
 *
 * An MBConv block: a 1×1 expansion convolution (when the expansion ratio is not 1) + BN + swish, a k×k
 * depthwise convolution + BN + swish, squeeze-and-excitation (global average pooling, reshape to 1×1×C,
 * 1×1 convolution with bias to max(1, in/4) channels + swish, 1×1 convolution with bias back to C + sigmoid,
 * multiplied into the features), and a 1×1 projection + BN without activation; a residual addition when
 * the stride is 1 and the channels do not change. torchvision's stochastic depth (which drops whole residual
 * branches during training) has no tfjs layer and is left out: it has no parameters.
 */

/** [expand ratio, kernel, stride, input channels, output channels, blocks], torchvision's B0 table. */
const STAGES: readonly (readonly [number, number, number, number, number, number])[] = [
  [1, 3, 1, 32, 16, 1],
  [6, 3, 2, 16, 24, 2],
  [6, 5, 2, 24, 40, 2],
  [6, 3, 2, 40, 80, 3],
  [6, 5, 1, 80, 112, 3],
  [6, 5, 2, 112, 192, 4],
  [6, 3, 1, 192, 320, 1],
];
const STEM_FILTERS = 32;
const HEAD_FILTERS = 1280;
const DROPOUT = 0.2;

function squeezeExcitation(g: GraphBuilder, x: Tensor, name: string, channels: number, squeeze: number): Tensor {
  let s = g.apply(tf.layers.globalAveragePooling2d({ name: `${name}.avgpool` }), x);
  s = g.apply(tf.layers.reshape({ name: `${name}.reshape`, targetShape: [1, 1, channels] }), s);
  s = g.conv(s, `${name}.fc1`, { filters: squeeze, kernel: 1, bias: true, activation: 'swish' });
  s = g.conv(s, `${name}.fc2`, { filters: channels, kernel: 1, bias: true, activation: 'sigmoid' });
  return g.apply(tf.layers.multiply({ name: `${name}.scale` }), [x, s]);
}

/** One MBConv block; `name` is its torchvision path, e.g. 'features.2.0', whose layers are '<name>.block.<k>…'. */
function mbconv(g: GraphBuilder, x: Tensor, name: string, expand: number, kernel: number, stride: number, input: number, output: number): Tensor {
  const expanded = input * expand;
  let k = 0;
  const part = () => `${name}.block.${k++}`;
  let y = x;
  if (expanded !== input) {
    const p = part();
    y = g.convBn(y, { conv: `${p}.0`, bn: `${p}.1`, act: `${p}.2` }, { filters: expanded, kernel: 1 }, 'swish');
  }
  const dw = part();
  y = g.activation(g.batchNorm(g.depthwiseConv(y, `${dw}.0`, kernel, stride), `${dw}.1`), `${dw}.2`, 'swish');
  y = squeezeExcitation(g, y, part(), expanded, Math.max(1, Math.floor(input / 4)));
  const proj = part();
  y = g.convBn(y, { conv: `${proj}.0`, bn: `${proj}.1` }, { filters: output, kernel: 1 });
  return stride === 1 && input === output ? g.add([y, x], `${name}.add`) : y;
}

/** The network from the input layer to the softmax output. */
function efficientnetB0Graph(g: GraphBuilder, input: Tensor, { classes }: ModelBuildOptions): Tensor {
  let x = g.convBn(input, { conv: 'features.0.0', bn: 'features.0.1', act: 'features.0.2' }, { filters: STEM_FILTERS, kernel: 3, stride: 2 }, 'swish');
  STAGES.forEach(([expand, kernel, stride, cin, cout, blocks], s) => {
    for (let i = 0; i < blocks; i += 1) {
      x = mbconv(g, x, `features.${s + 1}.${i}`, expand, kernel, i === 0 ? stride : 1, i === 0 ? cin : cout, cout);
    }
  });
  const last = `features.${STAGES.length + 1}`;
  x = g.convBn(x, { conv: `${last}.0`, bn: `${last}.1`, act: `${last}.2` }, { filters: HEAD_FILTERS, kernel: 1 }, 'swish');
  return g.head(x, classes, { pool: 'avgpool', dropout: 'classifier.0', dense: 'classifier.1' }, DROPOUT);
}

export const efficientnetB0: ModelSpec = registerImageModel(
  'efficientnet-b0',
  'EfficientNet-B0 (torchvision layout: MBConv, depthwise convolutions, squeeze-and-excitation, swish), 4.0 M backbone parameters for RGB',
  efficientnetB0Graph,
);
