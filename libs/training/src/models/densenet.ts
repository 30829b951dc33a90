import { IncompatibleJobError } from '../trainer';
import { tf } from '../tfjs/backend';
import { registerImageModel, type GraphBuilder, type Tensor } from './blocks';
import type { ModelBuildOptions, ModelSpec } from './zoo';

/**
 * DenseNet121 as torchvision builds it (Huang et al. 2017; torchvision.models.densenet121): growth rate 32,
 * dense blocks of 6, 12, 24 and 16 layers, bottleneck width bn_size 4 (each layer is BN-ReLU-1×1 conv to
 * 128 channels, BN-ReLU-3×3 conv to 32, concatenated to its input), transitions with compression 0.5
 * (BN-ReLU-1×1 conv halving the channels, 2×2 average pooling), a 64-filter 7×7 stride-2 stem with 3×3
 * max pooling, a final BatchNorm + ReLU, global average pooling and a dense softmax layer ('classifier').
 * torchvision's default drop_rate is 0, so there is no dropout.
 */
const GROWTH = 32;
const BN_SIZE = 4;
const BLOCKS = [6, 12, 24, 16] as const;
const STEM_FILTERS = 64;

/** The spatial size after the stem (two stride-2 steps with PyTorch padding) and the three 2×2 transitions. */
function finalSize(size: number): number {
  let s = Math.ceil(Math.ceil(size / 2) / 2);
  for (let t = 0; t < BLOCKS.length - 1; t += 1) s = Math.floor(s / 2);
  return s;
}

function denseLayer(g: GraphBuilder, x: Tensor, name: string): Tensor {
  const n = (part: string) => `${name}.${part}`;
  let y = g.activation(g.batchNorm(x, n('norm1')), n('relu1'), 'relu');
  y = g.conv(y, n('conv1'), { filters: BN_SIZE * GROWTH, kernel: 1 });
  y = g.activation(g.batchNorm(y, n('norm2')), n('relu2'), 'relu');
  y = g.conv(y, n('conv2'), { filters: GROWTH, kernel: 3 });
  return g.apply(tf.layers.concatenate({ name: n('concat'), axis: -1 }), [x, y]);
}

function transition(g: GraphBuilder, x: Tensor, name: string, filters: number): Tensor {
  const y = g.activation(g.batchNorm(x, `${name}.norm`), `${name}.relu`, 'relu');
  const z = g.conv(y, `${name}.conv`, { filters, kernel: 1 });
  return g.apply(tf.layers.averagePooling2d({ name: `${name}.pool`, poolSize: 2, strides: 2, padding: 'valid' }), z);
}

/** The network from the input layer to the softmax output. */
function densenet121Graph(g: GraphBuilder, input: Tensor, { inputShape, classes }: ModelBuildOptions): Tensor {
  const [height = 0, width = 0] = inputShape;
  if (finalSize(height) < 1 || finalSize(width) < 1) {
    throw new IncompatibleJobError(`densenet121 needs images of at least 29×29 pixels (it downsamples 32-fold), not ${height}×${width}`);
  }
  let x = g.convBn(input, { conv: 'features.conv0', bn: 'features.norm0', act: 'features.relu0' }, { filters: STEM_FILTERS, kernel: 7, stride: 2 }, 'relu');
  x = g.stemMaxPool(x, 'features.pool0');
  let channels = STEM_FILTERS;
  BLOCKS.forEach((layers, b) => {
    for (let i = 1; i <= layers; i += 1) x = denseLayer(g, x, `features.denseblock${b + 1}.denselayer${i}`);
    channels += layers * GROWTH;
    if (b < BLOCKS.length - 1) {
      channels = Math.floor(channels / 2);
      x = transition(g, x, `features.transition${b + 1}`, channels);
    }
  });
  x = g.activation(g.batchNorm(x, 'features.norm5'), 'features.relu5', 'relu');
  return g.head(x, classes, { pool: 'avgpool', dense: 'classifier' });
}

export const densenet121: ModelSpec = registerImageModel(
  'densenet121',
  'DenseNet121 (torchvision layout, growth 32, blocks 6-12-24-16), 7.0 M backbone parameters for RGB',
  densenet121Graph,
);
