import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { fedledger } from './run-cli';

test('fedledger simulate: a 3-round experiment with 3 centres completes and prints its events as JSON lines', async () => {
  const { code, stdout, stderr } = await fedledger(['simulate', '--trainer', 'noop', '--centres', '3', '--rounds', '3', '--params', '5000', '--json']);
  expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
  const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const rounds = events.filter((e) => e.event === 'round.completed');
  expect(rounds.map((r) => [r.round, r.centres, r.examples, r.missing])).toEqual([
    [1, ['c01', 'c02', 'c03'], 300, []],
    [2, ['c01', 'c02', 'c03'], 300, []],
    [3, ['c01', 'c02', 'c03'], 300, []],
  ]);
  for (const r of rounds) expect(r.durationMs).toEqual(expect.any(Number));
  expect(events.filter((e) => e.event === 'update.accepted')).toHaveLength(9);
  expect(events[events.length - 1]).toMatchObject({ event: 'experiment.completed', outcome: 'EXPERIMENT_OUTCOME_SUCCEEDED', roundsCompleted: 3 });
  // Each round's aggregate is the next round's starting point.
  const started = events.filter((e) => e.event === 'round.started');
  expect(started.slice(1).map((s) => s.globalWeights)).toEqual(rounds.slice(0, 2).map((r) => r.aggregate));
}, 180_000);

const parse = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; round?: number; aggregatedMetrics?: Record<string, number>; centres?: unknown } & Record<string, unknown>);

test('fedledger simulate on DICOM centres: every centre prepares its own images, trains, evaluates; the final model is exported with its digest', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-sim-test-'));
  try {
    const synth = await fedledger(['data', 'synth', '--out', path.join(dir, 'data'), '--seed', '3', '--max-per-centre', '30', '--size', '48']);
    expect(synth.code).toBe(0);
    const { code, stdout, stderr } = await fedledger(['simulate', '--data', path.join(dir, 'data'), '--rounds', '2', '--input-size', '32', '--out', path.join(dir, 'model'), '--json']);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const events = parse(stdout);
    const completed = events.filter((e) => e.event === 'round.completed');
    expect(completed.map((e) => e.centres)).toEqual([
      ['bcdr', 'cmmd', 'inbreast', 'optimam-jarv', 'optimam-stge'],
      ['bcdr', 'cmmd', 'inbreast', 'optimam-jarv', 'optimam-stge'],
    ]);
    // evaluation after every round, on each centre's validation patients, with the binary metrics
    const evaluated = events.filter((e) => e.event === 'round.evaluated');
    expect(evaluated.map((e) => e.round)).toEqual([1, 2]);
    expect(Object.keys(evaluated[1]!.aggregatedMetrics!)).toEqual(expect.arrayContaining(['loss', 'accuracy', 'auc', 'sensitivity', 'specificity']));
    expect(stderr).toMatch(/histogram matching to landmarks learnt from the reference centre/);
    // the final model, in TensorFlow.js format, with the digests printed
    const exported = events.find((e) => e.event === 'model.exported')!;
    expect(exported.dir).toBe(path.join(dir, 'model'));
    const weights = readFileSync(path.join(dir, 'model', 'weights.bin'));
    expect(createHash('sha256').update(weights).digest('hex')).toBe(exported.weightsSha256);
    expect(JSON.parse(readFileSync(path.join(dir, 'model', 'model.json'), 'utf8')).format).toBe('layers-model');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);

test('fedledger simulate on tabular centres (an MLP): the federated model gets better round after round', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-sim-test-'));
  try {
    expect((await fedledger(['data', 'synth', '--kind', 'tabular', '--out', path.join(dir, 'data'), '--seed', '2'])).code).toBe(0);
    const { code, stdout, stderr } = await fedledger(['simulate', '--data', path.join(dir, 'data'), '--rounds', '3', '--epochs', '2', '--out', path.join(dir, 'model'), '--json']);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const evaluated = parse(stdout).filter((e) => e.event === 'round.evaluated');
    expect(evaluated).toHaveLength(3);
    expect(evaluated[2]!.aggregatedMetrics!.loss).toBeLessThan(evaluated[0]!.aggregatedMetrics!.loss!);
    expect(evaluated[2]!.aggregatedMetrics!.auc).toBeGreaterThan(0.7);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);

test('fedledger simulate refuses a bad strategy with a usage error', async () => {
  const { code, stderr } = await fedledger(['simulate', '--strategy', 'fedbest']);
  expect(code).toBe(2);
  expect(stderr).toContain("--strategy must be one of fedavg, fedavgm, fedprox, fedmedian, fedtrimmedavg, krum, multikrum, bulyan, fedadam, fedyogi, fedadagrad, got 'fedbest'");
});
