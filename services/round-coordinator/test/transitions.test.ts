import type { AcceptedUpdate, ExperimentState } from '@fedledger/contracts';
import { NoChange } from '@fedledger/messaging';
import { parseExperimentPlan, InvalidExperimentPlan } from '../src/experiments/experiment-plan';
import {
  abort,
  deadlineReached,
  evaluationDue,
  evaluationReported,
  newExperiment,
  pause,
  resume,
  roundAggregated,
  start,
  taskFailed,
  tasksRefused,
  updateAccepted,
  updateRejected,
  InvalidTransition,
  selectCentres,
} from '../src/experiments/transitions';

const weights = { blobId: 'w0', sha256: 'a'.repeat(64), sizeBytes: 10 };
const plan = (over: Record<string, unknown> = {}) =>
  parseExperimentPlan({ id: 'exp1', initialWeights: weights, rounds: 2, centres: ['a', 'b', 'c'], minFitCentres: 2, roundDeadlineMs: 1_000, maxRoundRetries: 1, ...over });
const update = (n: number, loss: number): AcceptedUpdate => ({ taskId: 't', numExamples: n, metrics: { loss }, weights, trainDurationMs: 5 });

function running(over: Record<string, unknown> = {}): ExperimentState {
  return start(newExperiment(plan(over), 0), 0);
}

test('starting an experiment opens round 1 with every centre selected and a deadline', () => {
  const s = running();
  expect(s.status).toBe('running');
  expect(s.current).toMatchObject({ round: 1, attempt: 0, phase: 'training', selected: ['a', 'b', 'c'], deadlineMs: 1_000, globalWeights: weights });
  expect(() => start(s, 1)).toThrow(NoChange);
});

test('the round closes for aggregation once every selected centre answered', () => {
  let s = running();
  s = updateAccepted(s, 1, 'a', update(10, 1), 1);
  s = updateAccepted(s, 1, 'b', update(30, 2), 2);
  expect(s.current?.phase).toBe('training');
  s = updateRejected(s, 1, 'c', 'tensor dense/kernel has NaN at index 3', 3);
  expect(s.current).toMatchObject({ phase: 'aggregating', closedFor: ['a', 'b'] });
});

test('an update counts once; one from a centre that was not asked, or for another round, changes nothing', () => {
  const s = updateAccepted(running(), 1, 'a', update(10, 1), 1);
  expect(() => updateAccepted(s, 1, 'a', update(10, 1), 2)).toThrow(NoChange);
  expect(() => updateAccepted(s, 1, 'zz', update(10, 1), 2)).toThrow(NoChange);
  expect(() => updateAccepted(s, 2, 'b', update(10, 1), 2)).toThrow(NoChange);
});

test('at the deadline a round with its quorum aggregates what arrived', () => {
  let s = running();
  s = updateAccepted(s, 1, 'a', update(10, 1), 1);
  s = updateAccepted(s, 1, 'c', update(10, 1), 1);
  expect(() => deadlineReached(s, 1, 0, 999)).toThrow(NoChange); // not yet
  s = deadlineReached(s, 1, 0, 1_000);
  expect(s.current).toMatchObject({ phase: 'aggregating', closedFor: ['a', 'c'] });
});

test('a round that misses its quorum is retried, then the experiment fails naming who was missing', () => {
  let s = updateAccepted(running(), 1, 'a', update(10, 1), 1);
  s = deadlineReached(s, 1, 0, 1_000);
  expect(s.status).toBe('running');
  expect(s.current).toMatchObject({ attempt: 1, deadlineMs: 2_000, phase: 'training' });
  expect(Object.keys(s.current!.accepted)).toEqual(['a']); // kept: a is not asked again
  s = updateRejected(s, 1, 'b', 'shape mismatch', 1_500);
  s = deadlineReached(s, 1, 1, 2_000);
  expect(s.status).toBe('failed');
  expect(s.reason).toBe('round 1: 1 of 3 centres answered (deadline), 2 needed; missing b (rejected: shape mismatch), c');
});

test('an aggregated round moves the global weights on and starts the next; the last completes the experiment', () => {
  let s = running();
  for (const c of ['a', 'b', 'c']) s = updateAccepted(s, 1, c, update(10, 1), 1);
  const agg1 = { blobId: 'agg1', sha256: 'b'.repeat(64), sizeBytes: 10 };
  s = roundAggregated(s, 1, agg1, undefined, { a: update(10, 1), b: update(30, 3) }, 50);
  expect(s.completedRounds[0]).toMatchObject({ round: 1, aggregate: agg1, centres: ['a', 'b'], missing: ['c'], aggregatedMetrics: { loss: 2.5 }, durationMs: 50 });
  expect(s.current).toMatchObject({ round: 2, phase: 'training', globalWeights: agg1 });
  expect(() => roundAggregated(s, 1, agg1, undefined, {}, 60)).toThrow(NoChange);
  for (const c of ['a', 'b', 'c']) s = updateAccepted(s, 2, c, update(10, 1), 70);
  const agg2 = { blobId: 'agg2', sha256: 'c'.repeat(64), sizeBytes: 10 };
  s = roundAggregated(s, 2, agg2, undefined, { a: update(1, 1), b: update(1, 1), c: update(1, 1) }, 90);
  expect(s).toMatchObject({ status: 'completed', globalWeights: agg2, endedAtMs: 90 });
  expect(s.current).toBeUndefined();
  expect(() => start(s, 100)).toThrow(InvalidTransition);
});

test('fraction_fit selects a deterministic subset, never fewer than min_fit', () => {
  const p = plan({ centres: ['a', 'b', 'c', 'd', 'e', 'f'], fractionFit: 0.3, minFitCentres: 2 });
  const r1 = selectCentres(p, 1);
  expect(r1).toHaveLength(2);
  expect(selectCentres(p, 1)).toEqual(r1);
  expect(new Set([...selectCentres(p, 2), ...selectCentres(p, 3), ...selectCentres(p, 4)]).size).toBeGreaterThan(2);
});

test('a plan with impossible numbers is refused with every problem named', () => {
  expect(() => plan({ minFitCentres: 4, rounds: 0, centres: ['a', 'b', 'a'] })).toThrow(InvalidExperimentPlan);
  const refused = (() => {
    try {
      plan({ minFitCentres: 5, rounds: 0 });
      return undefined;
    } catch (err) {
      return err as InvalidExperimentPlan;
    }
  })();
  expect(refused?.problems).toEqual(['rounds: Number must be greater than or equal to 1', 'minFitCentres: 5 is more than the 3 centres taking part']);
});

test('paused: answers still count but the round neither closes nor times out; resuming closes it if everyone answered', () => {
  let s = pause(running());
  expect(s.status).toBe('paused');
  for (const c of ['a', 'b', 'c']) s = updateAccepted(s, 1, c, update(10, 1), 5);
  expect(s.current?.phase).toBe('training');
  expect(() => deadlineReached(s, 1, 0, 5_000)).toThrow(NoChange);
  s = resume(s, 6_000);
  expect(s).toMatchObject({ status: 'running', current: { phase: 'aggregating', closedFor: ['a', 'b', 'c'] } });
});

test('resuming gives the round in progress a fresh deadline; abort ends the experiment with its reason', () => {
  let s = updateAccepted(pause(running()), 1, 'a', update(10, 1), 5);
  s = resume(s, 10_000);
  expect(s.current).toMatchObject({ phase: 'training', deadlineMs: 11_000 });
  s = abort(s, 'centre b withdrew its grant', 10_500);
  expect(s).toMatchObject({ status: 'aborted', reason: 'centre b withdrew its grant', endedAtMs: 10_500 });
  expect(() => resume(s, 11_000)).toThrow(InvalidTransition);
  expect(() => pause(s)).toThrow(InvalidTransition);
});

describe('task failures reported by centres', () => {
  test('a centre that cannot train counts as answered: the round closes without waiting for the deadline', () => {
    let s = running();
    s = updateAccepted(s, 1, 'a', update(10, 1), 1);
    s = updateAccepted(s, 1, 'b', update(10, 1), 2);
    s = taskFailed(s, 1, 'c', 'train', "unknown model 'resnet-9000'", 3);
    expect(s.current).toMatchObject({ phase: 'aggregating', closedFor: ['a', 'b'], rejected: { c: "cannot train: unknown model 'resnet-9000'" } });
  });

  test('failures of other rounds, of centres not asked, or twice change nothing', () => {
    const s = taskFailed(running(), 1, 'c', 'train', 'no data', 1);
    expect(() => taskFailed(s, 1, 'c', 'train', 'no data', 2)).toThrow(NoChange);
    expect(() => taskFailed(s, 2, 'a', 'train', 'no data', 2)).toThrow(NoChange);
    expect(() => taskFailed(s, 1, 'zz', 'train', 'no data', 2)).toThrow(NoChange);
    expect(() => taskFailed(s, 1, 'a', 'evaluate', 'no data', 2)).toThrow(NoChange); // not evaluating
  });

  test('when failures leave the round short of its quorum it is retried at once, naming why', () => {
    let s = updateAccepted(running(), 1, 'a', update(10, 1), 1);
    s = taskFailed(s, 1, 'b', 'train', 'dataset d1 is empty', 2);
    s = taskFailed(s, 1, 'c', 'train', 'dataset d1 is empty', 3);
    expect(s.current).toMatchObject({ phase: 'training', attempt: 1 });
    expect(s.reason).toContain('missing b (rejected: cannot train: dataset d1 is empty)');
  });

  test('centres the coordinator refuses (grant no longer live) are recorded at once with the reason, and named in the round summary', () => {
    let s = start(newExperiment(plan(), 0), 0, { a: 'ds-a', b: 'ds-b', c: 'ds-c' });
    expect(s.grantedDatasets).toEqual({ a: 'ds-a', b: 'ds-b', c: 'ds-c' });
    s = tasksRefused(s, 1, 'train', { c: 'no live grant on ds-c: revoked' }, 1);
    expect(s.current?.rejected).toEqual({ c: 'cannot train: no live grant on ds-c: revoked' });
    expect(() => tasksRefused(s, 1, 'train', { c: 'no live grant on ds-c: revoked' }, 2)).toThrow(NoChange); // already recorded
    expect(() => tasksRefused(s, 1, 'train', { zz: 'not asked' }, 2)).toThrow(NoChange);
    s = updateAccepted(s, 1, 'a', update(10, 1), 3);
    s = updateAccepted(s, 1, 'b', update(10, 1), 4);
    expect(s.current).toMatchObject({ phase: 'aggregating', closedFor: ['a', 'b'] });
    s = roundAggregated(s, 1, weights, undefined, { a: update(10, 1), b: update(10, 1) }, 5);
    expect(s.completedRounds[0]).toMatchObject({ centres: ['a', 'b'], missing: ['c'], missingReasons: { c: 'cannot train: no live grant on ds-c: revoked' } });
  });
});

describe('evaluation rounds', () => {
  const evaluation = (n: number, accuracy: number) => ({ taskId: 'e', numExamples: n, metrics: { accuracy }, durationMs: 3 });
  const aggregated = (s: ExperimentState, round: number, now: number) =>
    roundAggregated(s, round, { ...weights, blobId: `agg${round}` }, undefined, { a: update(10, 1), b: update(10, 1), c: update(10, 1) }, now);
  const trainRound = (s: ExperimentState, round: number, now: number) => {
    for (const c of ['a', 'b', 'c']) s = updateAccepted(s, round, c, update(10, 1), now);
    return aggregated(s, round, now);
  };

  test('due every k rounds and after the last one, never when k is 0', () => {
    expect([1, 2, 3, 4, 5].map((r) => evaluationDue(plan({ rounds: 5, evaluateEvery: 2 }), r))).toEqual([false, true, false, true, true]);
    expect([1, 2].map((r) => evaluationDue(plan({ evaluateEvery: 0 }), r))).toEqual([false, false]);
  });

  test('after an aggregated round every centre evaluates the aggregate; weighted metrics are recorded, then the next round starts', () => {
    let s = trainRound(running({ evaluateEvery: 1 }), 1, 10);
    expect(s.current).toMatchObject({ round: 1, phase: 'evaluating', selected: ['a', 'b', 'c'], globalWeights: { blobId: 'agg1' }, deadlineMs: 1_010 });
    s = evaluationReported(s, 1, 'a', evaluation(100, 0.5), 20);
    expect(() => evaluationReported(s, 1, 'a', evaluation(100, 0.9), 21)).toThrow(NoChange); // once per centre
    s = evaluationReported(s, 1, 'b', evaluation(300, 0.9), 30);
    expect(s.current?.phase).toBe('evaluating');
    s = taskFailed(s, 1, 'c', 'evaluate', 'no held-out images', 40);
    expect(s.current).toMatchObject({ round: 2, phase: 'training', globalWeights: { blobId: 'agg1' } });
    expect(s.completedRounds[0]!.evaluation).toEqual({
      results: { a: evaluation(100, 0.5), b: evaluation(300, 0.9) },
      aggregatedMetrics: { accuracy: (100 * 0.5 + 300 * 0.9) / 400 },
      missing: ['c (cannot evaluate: no held-out images)'],
      durationMs: 30,
      completedAtMs: 40,
    });
  });

  test('at the deadline the evaluation records who answered; after the last round the experiment completes', () => {
    let s = trainRound(running({ evaluateEvery: 5 }), 1, 10);
    expect(s.current).toMatchObject({ round: 2, phase: 'training' }); // 1 is not a multiple of 5 and not the last
    s = trainRound(s, 2, 20);
    expect(s.current).toMatchObject({ round: 2, phase: 'evaluating' }); // the last round
    s = evaluationReported(s, 2, 'b', evaluation(50, 0.7), 25);
    expect(() => deadlineReached(s, 2, 0, 1_019)).toThrow(NoChange);
    s = deadlineReached(s, 2, 0, 1_020);
    expect(s.status).toBe('completed');
    expect(s.current).toBeUndefined();
    expect(s.completedRounds[1]!.evaluation).toMatchObject({ aggregatedMetrics: { accuracy: 0.7 }, missing: ['a', 'c'] });
  });

  test('pause and resume in the evaluation phase restart its deadline', () => {
    let s = pause(trainRound(running({ evaluateEvery: 1 }), 1, 10));
    s = evaluationReported(s, 1, 'a', evaluation(10, 1), 20); // answers keep counting while paused
    s = resume(s, 500);
    expect(s.current).toMatchObject({ phase: 'evaluating', deadlineMs: 1_500 });
  });
});
