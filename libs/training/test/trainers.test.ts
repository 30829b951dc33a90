import * as tf from '@tensorflow/tfjs';
import type { WeightTensor } from '@fedledger/fl-core';
import { initialWeightsOf, NoopTrainer, TfjsTrainer, type TrainingJob } from '../src';

const job = (weights: readonly WeightTensor[], over: Partial<TrainingJob> = {}): TrainingJob => ({
  experimentId: 'e1',
  round: 1,
  centreId: 'stmary',
  modelArchitecture: 'dense-test',
  datasetId: 'synthetic',
  weights,
  epochs: 2,
  batchSize: 32,
  learningRate: 0.1,
  proximalMu: 0,
  ...over,
});

const distance = (a: readonly WeightTensor[], b: readonly WeightTensor[]) =>
  Math.sqrt(a.reduce((s, t, i) => s + t.data.reduce((u, v, j) => u + (v - b[i]!.data[j]!) ** 2, 0), 0));

test('the tfjs trainer changes the weights and lowers the loss round after round; evaluation sees it', async () => {
  const trainer = new TfjsTrainer({ syntheticExamples: 256 });
  const start = await initialWeightsOf('dense-test');
  const before = await trainer.evaluate(job(start));
  const first = await trainer.train(job(start, { epochs: 5, learningRate: 0.5 }));
  expect(first.numExamples).toBe(256);
  expect(first.weights.map((w) => [w.name, w.shape])).toEqual(start.map((w) => [w.name, w.shape]));
  expect(distance(first.weights, start)).toBeGreaterThan(0.01);
  const second = await trainer.train(job(first.weights, { round: 2, epochs: 5, learningRate: 0.5 }));
  expect(second.metrics.loss).toBeLessThan(first.metrics.loss);
  const after = await trainer.evaluate(job(second.weights));
  expect(after.numExamples).toBe(64); // the held-out quarter
  expect(after.metrics.accuracy).toBeGreaterThan(0.8);
  expect(after.metrics.auc).toBeGreaterThan(before.metrics.auc!);
  expect(after.metrics.loss).toBeLessThan(before.metrics.loss!);
}, 60_000);

test('FedProx: a large mu keeps the local weights close to the global ones', async () => {
  const trainer = new TfjsTrainer({ syntheticExamples: 256 });
  const start = await initialWeightsOf('dense-test');
  const free = await trainer.train(job(start, { proximalMu: 0 }));
  const held = await trainer.train(job(start, { proximalMu: 10 }));
  expect(distance(held.weights, start)).toBeLessThan(distance(free.weights, start) / 2);
}, 60_000);

test('weights that do not fit the architecture are refused, naming the tensor', async () => {
  const start = await initialWeightsOf('dense-test');
  const wrong = start.map((w: WeightTensor) => (w.name === 'dense1/kernel' ? { ...w, shape: [16, 8] } : w));
  const trainer = new TfjsTrainer({ syntheticExamples: 64 });
  await expect(trainer.train(job(wrong))).rejects.toThrow('tensor dense1/kernel has shape [16,8], model dense_test expects [8,16]');
  await expect(trainer.train(job(start, { modelArchitecture: 'resnet-9000' }))).rejects.toThrow(/unknown model 'resnet-9000' \(known: .*dense-test/);
  await expect(trainer.train(job(start, { data: { inputShape: [32, 32, 1], normalisation: 'zscore', validationFraction: 0.2, testFraction: 0.2, splitSeed: 1, augment: false } }))).rejects.toThrow(
    'the experiment brings a data specification but centre stmary has no data folder configured (DATA_DIR)',
  );
}, 60_000);

test('the noop trainer perturbs deterministically per centre and round, and leaves the input alone', async () => {
  const weights: WeightTensor[] = [{ name: 'w', shape: [4], data: Float32Array.from([1, 2, 3, 4]) }];
  const a = await new NoopTrainer(7).train(job(weights));
  const b = await new NoopTrainer(7).train(job(weights));
  const c = await new NoopTrainer(7).train(job(weights, { centreId: 'other' }));
  expect(Array.from(weights[0]!.data)).toEqual([1, 2, 3, 4]);
  expect(a.weights[0]!.data).toEqual(b.weights[0]!.data);
  expect(a.weights[0]!.data).not.toEqual(c.weights[0]!.data);
  expect(Math.max(...a.weights[0]!.data.map((v, i) => Math.abs(v - weights[0]!.data[i]!)))).toBeLessThan(1e-3);
  expect(a.numExamples).toBe(7);
});

test('no tensor leaks: as many tensors after round 10 as after round 1 (training and evaluation, with FedProx)', async () => {
  const trainer = new TfjsTrainer({ syntheticExamples: 64 });
  let weights = await initialWeightsOf('dense-test');
  const counts: number[] = [];
  for (let round = 1; round <= 10; round++) {
    weights = (await trainer.train(job(weights, { round, epochs: 1, proximalMu: 0.1, optimizer: round % 2 ? 'adam' : 'sgd' }))).weights;
    await trainer.evaluate(job(weights, { round }));
    counts.push(tf.memory().numTensors);
  }
  expect(counts[9]).toBe(counts[0]);
}, 60_000);
