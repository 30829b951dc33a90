import type { PreparedDataset, PreparedSplit } from '../centre/prepared';
import { modelSpec } from '../models';
import { createRandomSource } from '../preprocess';

/**
 * A centre's synthetic dataset for jobs without a data spec (protocol tests): features from a normal
 * distribution shifted per centre (so centres are not identically distributed), label = whether a fixed
 * linear score is positive; a quarter as many held-out examples for validation and test.
 */
export function syntheticSplit(centreId: string, model: string, examples: number): PreparedDataset {
  const inputShape = modelSpec(model).defaultInputShape;
  const features = inputShape.reduce((a, b) => a * b, 1);
  let hash = 0;
  for (const ch of centreId) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const shift = ((hash % 1000) / 1000 - 0.5) * 0.8;
  const make = (part: string, n: number): PreparedSplit => {
    const random = createRandomSource(`${centreId}/${part}`);
    const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const x = new Float32Array(n * features);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let score = 0;
      for (let f = 0; f < features; f++) {
        const v = normal() + shift;
        x[i * features + f] = v;
        score += v * (features === 1 ? 1 : -1 + (2 * f) / (features - 1));
      }
      y[i] = score > 0 ? 1 : 0;
    }
    return { x, y, n, patients: n };
  };
  const held = Math.max(1, Math.floor(examples / 4));
  return { centreId, kind: 'tabular', inputShape, train: make('train', examples), validation: make('validation', held), test: make('test', held), issues: [] };
}
