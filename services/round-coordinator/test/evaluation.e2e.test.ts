import type { EventRecord } from '@fedledger/contracts';
import { startTestFederation, type TestFederation } from '@fedledger/federation';

// Real processes: c1 and c2 run the noop trainer; c3 runs the tfjs trainer, which does not know the
// plan's model, so it dead-letters every task it gets and reports the failure to the coordinator.
let fed: TestFederation;
const weights = [
  { name: 'dense/kernel', shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i / 10) },
  { name: 'dense/bias', shape: [3], data: new Float32Array(3) },
];

beforeAll(async () => {
  fed = await startTestFederation({
    centres: ['c1', 'c2', 'c3'],
    env: { LOG_LEVEL: 'warn', TRAINER: 'noop' },
    envOf: { 'centre-c3': { TRAINER: 'tfjs' } },
  });
}, 120_000);

afterAll(async () => {
  await fed?.stop();
});

const ofKind = (events: EventRecord[], kind: string) => events.filter((e) => e.event === kind);

test('a centre that cannot do its task reports it: rounds close without waiting for the deadline; evaluation rounds report weighted metrics', async () => {
  const initialWeights = await fed.putWeights(weights);
  const deadlineMs = 120_000;
  const id = await fed.run({ id: 'eval-and-failures', rounds: 2, centres: ['c1', 'c2', 'c3'], minFitCentres: 2, roundDeadlineMs: deadlineMs, evaluateEvery: 1, modelArchitecture: 'not-a-model', initialWeights });
  const w = fed.watch(id);
  const done = await w.until((e) => e.event === 'experiment.completed', 110_000);
  expect(done.outcome).toBe('EXPERIMENT_OUTCOME_SUCCEEDED');

  // c3 failed its training and evaluation tasks, with the trainer's reason
  const failed = ofKind(w.events, 'task.failed');
  expect(failed.map((e) => [e.round, e.centreId, e.task])).toEqual(
    expect.arrayContaining([
      [1, 'c3', 'TASK_KIND_TRAIN'],
      [1, 'c3', 'TASK_KIND_EVALUATE'],
      [2, 'c3', 'TASK_KIND_TRAIN'],
      [2, 'c3', 'TASK_KIND_EVALUATE'],
    ]),
  );
  expect(String(failed[0]!.reason)).toContain("unknown model 'not-a-model'");

  // every round completed with the two others, well before the deadline
  const completed = ofKind(w.events, 'round.completed');
  expect(completed.map((e) => [e.round, e.centres, e.missing])).toEqual([
    [1, ['c1', 'c2'], ['c3']],
    [2, ['c1', 'c2'], ['c3']],
  ]);
  for (const e of completed) expect(e.durationMs as number).toBeLessThan(deadlineMs / 4);

  // each round's aggregate evaluated by c1 and c2 (100 examples each): the weighted mean of their metric
  const evaluated = ofKind(w.events, 'round.evaluated');
  expect(evaluated.map((e) => e.round)).toEqual([1, 2]);
  for (const e of evaluated) {
    const centres = e.centres as Record<string, { numExamples: number; metrics: Record<string, number> }>;
    expect(Object.keys(centres).sort()).toEqual(['c1', 'c2']);
    expect(e.missing).toEqual([expect.stringContaining('c3 (cannot evaluate:')]);
    const rms = (centres.c1!.metrics.rms! + centres.c2!.metrics.rms!) / 2;
    expect((e.aggregatedMetrics as Record<string, number>).rms).toBeCloseTo(rms, 12);
    expect(rms).toBeGreaterThan(0.3); // the weights sent: values i/10 perturbed by 1e-3
  }
  // evaluation follows its round: round 2 starts after round 1 was evaluated
  const order = w.events.map((e) => `${e.event}:${e.round}`);
  expect(order.indexOf('round.evaluated:1')).toBeLessThan(order.indexOf('round.started:2'));
}, 150_000);
