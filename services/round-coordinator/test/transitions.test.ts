import type { AcceptedUpdate, ExperimentState } from '@fedledger/contracts';
import { NoChange } from '@fedledger/messaging';
import { parseExperimentPlan, InvalidExperimentPlan } from '../src/experiments/experiment-plan';
import { abort, deadlineReached, newExperiment, pause, resume, roundAggregated, start, updateAccepted, updateRejected, InvalidTransition, selectCentres } from '../src/experiments/transitions';

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
