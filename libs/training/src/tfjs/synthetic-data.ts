import { tf } from './backend';

/**
 * A centre's local data for the synthetic task: features from a normal distribution shifted per
 * centre (so centres are not identically distributed), label = whether a fixed linear score is positive.
 */
export function syntheticDataset(centreId: string, inputSize: number, classes: number, examples: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  let seed = 0;
  for (const ch of centreId) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  return tf.tidy(() => {
    const shift = ((seed % 1000) / 1000 - 0.5) * 0.8;
    const x = tf.randomNormal([examples, inputSize], shift, 1, 'float32', seed) as tf.Tensor2D;
    const w = tf.linspace(-1, 1, inputSize).reshape([inputSize, 1]);
    const score = x.matMul(w).reshape([examples]);
    const label = tf.cast(tf.greater(score, 0), 'int32');
    const y = tf.oneHot(classes === 2 ? label : tf.mod(label, classes), classes).toFloat() as tf.Tensor2D;
    return { x, y };
  });
}
