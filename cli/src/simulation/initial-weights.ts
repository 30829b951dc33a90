import type { WeightTensor } from '@fedledger/fl-core';

/** A dense model's weights with `params` values in all, seeded so every run starts alike. */
export function initialWeights(params: number, seed = 42): WeightTensor[] {
  const bias = Math.min(100, Math.max(1, Math.floor(params / 100)));
  const kernel = Math.max(1, params - bias);
  let x = seed >>> 0 || 1;
  const fill = (n: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      a[i] = ((x >>> 0) / 0xffffffff - 0.5) * 0.1;
    }
    return a;
  };
  return [
    { name: 'dense/kernel', shape: [kernel], data: fill(kernel) },
    { name: 'dense/bias', shape: [bias], data: fill(bias) },
  ];
}
