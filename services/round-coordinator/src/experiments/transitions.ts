import { createHash } from 'node:crypto';
import type { AcceptedUpdate, CentreEvaluationResult, ExperimentPlan, ExperimentState, RoundProgress, StoredBlobRef } from '@fedledger/contracts';
import { NoChange } from '@fedledger/messaging';
import { centresPerRound } from './experiment-plan';

/**
 * The round state machine as pure functions of the stored state. Each returns the next state or
 * throws NoChange (the event does not apply: stale round, duplicate, wrong status), so the store's
 * compare-and-set can re-run them safely under contention and after a restart.
 */

export class InvalidTransition extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTransition';
  }
}

export function newExperiment(plan: ExperimentPlan, now: number, createdBy?: ExperimentState['createdBy']): ExperimentState {
  return { plan, status: 'created', globalWeights: plan.initialWeights, completedRounds: [], createdAtMs: now, ...(createdBy ? { createdBy } : {}) };
}

/** Centres asked in a round: a deterministic sample (seeded by experiment and round) of the plan's centres. */
export function selectCentres(plan: ExperimentPlan, round: number): string[] {
  const n = centresPerRound(plan);
  if (n === plan.centres.length) return [...plan.centres];
  const keyed = plan.centres.map((c) => ({ c, k: createHash('sha256').update(`${plan.id}/${round}/${c}`).digest('hex') }));
  return keyed.sort((a, b) => (a.k < b.k ? -1 : 1)).slice(0, n).map((x) => x.c);
}

function beginRound(s: ExperimentState, round: number, now: number): RoundProgress {
  return {
    round,
    attempt: 0,
    phase: 'training',
    startedAtMs: now,
    deadlineMs: now + s.plan.roundDeadlineMs,
    globalWeights: s.globalWeights,
    selected: selectCentres(s.plan, round),
    accepted: {},
    rejected: {},
  };
}

/** `grantedDatasets`: the dataset of each centre whose grant the coordinator checked (ledger mode with a passport). */
export function start(s: ExperimentState, now: number, grantedDatasets?: Record<string, string>): ExperimentState {
  if (s.status === 'running') throw new NoChange();
  if (s.status !== 'created') throw new InvalidTransition(`experiment ${s.plan.id} is ${s.status}; only a created experiment can be started`);
  return { ...s, status: 'running', startedAtMs: now, current: beginRound(s, 1, now), ...(grantedDatasets ? { grantedDatasets } : {}) };
}

export function pause(s: ExperimentState): ExperimentState {
  if (s.status === 'paused') throw new NoChange();
  if (s.status !== 'running') throw new InvalidTransition(`experiment ${s.plan.id} is ${s.status}; only a running experiment can be paused`);
  return { ...s, status: 'paused' };
}

/** Resuming restarts the deadline of the round in progress: the pause should not count against the centres. */
export function resume(s: ExperimentState, now: number): ExperimentState {
  if (s.status === 'running') throw new NoChange();
  if (s.status !== 'paused') throw new InvalidTransition(`experiment ${s.plan.id} is ${s.status}; only a paused experiment can be resumed`);
  const waiting = s.current && s.current.phase !== 'aggregating';
  const current = s.current && waiting ? { ...s.current, deadlineMs: now + s.plan.roundDeadlineMs } : s.current;
  const resumed = { ...s, status: 'running' as const, ...(current ? { current } : {}) };
  // Everyone may have answered during the pause.
  if (resumed.current?.phase === 'training') return closeIfAllAnswered(resumed as ExperimentState & { current: RoundProgress }, now);
  if (resumed.current?.phase === 'evaluating') return evaluationIfAllAnswered(resumed as ExperimentState & { current: RoundProgress }, now);
  return resumed;
}

export function abort(s: ExperimentState, reason: string, now: number): ExperimentState {
  if (s.status === 'aborted') throw new NoChange();
  if (s.status === 'completed' || s.status === 'failed') throw new InvalidTransition(`experiment ${s.plan.id} already ended (${s.status})`);
  return { ...s, status: 'aborted', reason, endedAtMs: now };
}

/** Updates keep counting while paused (the centres were already asked); only closing and dispatching wait. */
function isCurrentTraining(s: ExperimentState, round: number): s is ExperimentState & { current: RoundProgress } {
  return (s.status === 'running' || s.status === 'paused') && s.current !== undefined && s.current.round === round && s.current.phase === 'training';
}

/** An update the aggregator accepted. Counts once per centre and round; late or foreign ones change nothing. */
export function updateAccepted(s: ExperimentState, round: number, centreId: string, update: AcceptedUpdate, now: number): ExperimentState {
  if (!isCurrentTraining(s, round)) throw new NoChange();
  const c = s.current;
  if (!c.selected.includes(centreId) || c.accepted[centreId]) throw new NoChange();
  const { [centreId]: _dropped, ...rejected } = c.rejected;
  return closeIfAllAnswered({ ...s, current: { ...c, accepted: { ...c.accepted, [centreId]: update }, rejected } }, now);
}

export function updateRejected(s: ExperimentState, round: number, centreId: string, reason: string, now: number): ExperimentState {
  if (!isCurrentTraining(s, round)) throw new NoChange();
  const c = s.current;
  if (!c.selected.includes(centreId) || c.accepted[centreId] || c.rejected[centreId] === reason) throw new NoChange();
  return closeIfAllAnswered({ ...s, current: { ...c, rejected: { ...c.rejected, [centreId]: reason } } }, now);
}

function closeIfAllAnswered(s: ExperimentState & { current: RoundProgress }, now: number): ExperimentState {
  if (s.status !== 'running') return s;
  const c = s.current;
  const answered = c.selected.filter((id) => c.accepted[id] || c.rejected[id]).length;
  if (answered < c.selected.length) return s;
  return closeOrRetry(s, 'all-answered', now);
}

/**
 * The round's deadline passed: aggregate what arrived if it makes the quorum, else retry or fail. In the
 * evaluation phase: record the evaluations that arrived and go on (evaluation informs, it has no quorum).
 */
export function deadlineReached(s: ExperimentState, round: number, attempt: number, now: number): ExperimentState {
  if (s.status !== 'running' || !s.current || s.current.round !== round || s.current.attempt !== attempt || now < s.current.deadlineMs) throw new NoChange();
  if (s.current.phase === 'evaluating') return finishEvaluation(s as ExperimentState & { current: RoundProgress }, now);
  if (s.current.phase !== 'training') throw new NoChange();
  return closeOrRetry(s as ExperimentState & { current: RoundProgress }, 'deadline', now);
}

/**
 * A centre reported it cannot do its task (and dead-lettered it): in training it counts as answered without
 * an update, so the round closes as soon as everyone else has answered instead of waiting for the deadline;
 * in evaluation it is recorded as missing with the reason.
 */
export function taskFailed(s: ExperimentState, round: number, centreId: string, kind: 'train' | 'evaluate', reason: string, now: number): ExperimentState {
  const c = s.current;
  if ((s.status !== 'running' && s.status !== 'paused') || !c || c.round !== round || !c.selected.includes(centreId)) throw new NoChange();
  const why = cannotReason(kind, reason);
  if (kind === 'train' && c.phase === 'training') {
    if (c.accepted[centreId] || c.rejected[centreId] === why) throw new NoChange();
    return closeIfAllAnswered({ ...s, current: { ...c, rejected: { ...c.rejected, [centreId]: why } } }, now);
  }
  if (kind === 'evaluate' && c.phase === 'evaluating') {
    if (c.evaluations?.[centreId] || c.rejected[centreId]) throw new NoChange();
    return evaluationIfAllAnswered({ ...s, current: { ...c, rejected: { ...c.rejected, [centreId]: why } } }, now);
  }
  throw new NoChange();
}

/**
 * The coordinator found that some centres may no longer be sent this round's task (their grant was revoked or
 * expired): each is recorded as a centre that cannot do it, with the reason, exactly as if it had reported so.
 */
export function tasksRefused(s: ExperimentState, round: number, kind: 'train' | 'evaluate', reasons: Record<string, string>, now: number): ExperimentState {
  let next = s;
  for (const [centreId, reason] of Object.entries(reasons)) {
    try {
      next = taskFailed(next, round, centreId, kind, reason, now);
    } catch (err) {
      if (!(err instanceof NoChange)) throw err;
    }
  }
  if (next === s) throw new NoChange();
  return next;
}

/** How a reported failure is recorded in `rejected` (a rejected update's reason is the aggregator's text). */
const cannotReason = (kind: 'train' | 'evaluate', reason: string) => `cannot ${kind}: ${reason}`;

/** Whether a `rejected` entry is the centre's own report that it cannot do that kind of task. */
export function reportedCannot(rejected: string | undefined, kind: 'train' | 'evaluate'): boolean {
  return rejected?.startsWith(cannotReason(kind, '')) ?? false;
}

/** A centre's evaluation of the round's aggregate; once every centre asked has answered, the round's evaluation is recorded. */
export function evaluationReported(s: ExperimentState, round: number, centreId: string, result: CentreEvaluationResult, now: number): ExperimentState {
  const c = s.current;
  if ((s.status !== 'running' && s.status !== 'paused') || !c || c.round !== round || c.phase !== 'evaluating') throw new NoChange();
  if (!c.selected.includes(centreId) || c.evaluations?.[centreId]) throw new NoChange();
  const { [centreId]: _dropped, ...rejected } = c.rejected;
  return evaluationIfAllAnswered({ ...s, current: { ...c, evaluations: { ...c.evaluations, [centreId]: result }, rejected } }, now);
}

function evaluationIfAllAnswered(s: ExperimentState & { current: RoundProgress }, now: number): ExperimentState {
  if (s.status !== 'running') return s;
  const c = s.current;
  const answered = c.selected.filter((id) => c.evaluations?.[id] || c.rejected[id]).length;
  return answered < c.selected.length ? s : finishEvaluation(s, now);
}

/** Evaluation every `evaluateEvery` rounds and after the last one (when evaluation is on at all). */
export function evaluationDue(plan: ExperimentPlan, round: number): boolean {
  return plan.evaluateEvery > 0 && (round % plan.evaluateEvery === 0 || round === plan.rounds);
}

/** Records the evaluation on the round's summary, then starts the next round or completes the experiment. */
function finishEvaluation(s: ExperimentState & { current: RoundProgress }, now: number): ExperimentState {
  const c = s.current;
  const results = c.evaluations ?? {};
  const centres = Object.keys(results).sort();
  const evaluation = {
    results,
    aggregatedMetrics: weightedMetrics(results, centres),
    missing: c.selected.filter((id) => !results[id]).map((id) => (c.rejected[id] ? `${id} (${c.rejected[id]})` : id)),
    durationMs: now - c.startedAtMs,
    completedAtMs: now,
  };
  const next: ExperimentState = { ...s, completedRounds: s.completedRounds.map((r) => (r.round === c.round ? { ...r, evaluation } : r)) };
  return afterRound(next, c.round, now);
}

/** The round is done (aggregated, and evaluated if due): the next round, or the end of the experiment. */
function afterRound(s: ExperimentState, round: number, now: number): ExperimentState {
  if (round >= s.plan.rounds) {
    const done = { ...s, status: 'completed' as const, endedAtMs: now };
    delete done.current;
    return done;
  }
  return { ...s, current: beginRound(s, round + 1, now) };
}

function closeOrRetry(s: ExperimentState & { current: RoundProgress }, why: string, now: number): ExperimentState {
  const c = s.current;
  const accepted = Object.keys(c.accepted);
  if (accepted.length >= s.plan.minFitCentres) {
    return { ...s, current: { ...c, phase: 'aggregating', closedFor: accepted.sort() } };
  }
  const missing = c.selected.filter((id) => !c.accepted[id]);
  const detail = `round ${c.round}: ${accepted.length} of ${c.selected.length} centres answered (${why}), ${s.plan.minFitCentres} needed; missing ${missing
    .map((id) => (c.rejected[id] ? `${id} (rejected: ${c.rejected[id]})` : id))
    .join(', ')}`;
  if (c.attempt < s.plan.maxRoundRetries) {
    return { ...s, current: { ...c, attempt: c.attempt + 1, deadlineMs: now + s.plan.roundDeadlineMs, rejected: {} }, reason: `retrying ${detail}` };
  }
  return { ...s, status: 'failed', reason: detail, endedAtMs: now };
}

/**
 * The aggregator finished the round: record it and start the next one, or complete the experiment.
 * `results` are the updates the aggregate was made of, as the aggregator reports them (it may have
 * counted one that reached it before the deadline but was not yet known here).
 */
export function roundAggregated(
  s: ExperimentState,
  round: number,
  aggregate: StoredBlobRef,
  strategyState: StoredBlobRef | undefined,
  results: Record<string, AcceptedUpdate>,
  now: number,
): ExperimentState {
  const c = s.current;
  if (s.status !== 'running' || !c || c.round !== round || c.phase !== 'aggregating') throw new NoChange();
  const centres = Object.keys(results).sort();
  const missing = c.selected.filter((id) => !centres.includes(id));
  const missingReasons = Object.fromEntries(missing.filter((id) => c.rejected[id]).map((id) => [id, c.rejected[id]!]));
  const summary = {
    round,
    aggregate,
    centres,
    results,
    missing,
    ...(Object.keys(missingReasons).length ? { missingReasons } : {}),
    aggregatedMetrics: weightedMetrics(results, centres),
    durationMs: now - c.startedAtMs,
    completedAtMs: now,
  };
  const next: ExperimentState = {
    ...s,
    globalWeights: aggregate,
    ...(strategyState ? { strategyState } : {}),
    completedRounds: [...s.completedRounds, summary],
  };
  delete next.reason;
  if (evaluationDue(s.plan, round)) {
    // every centre of the plan evaluates the new model on its held-out data
    const evaluating: RoundProgress = {
      round,
      attempt: 0,
      phase: 'evaluating',
      startedAtMs: now,
      deadlineMs: now + s.plan.roundDeadlineMs,
      globalWeights: aggregate,
      selected: [...s.plan.centres],
      accepted: {},
      rejected: {},
      evaluations: {},
    };
    return { ...next, current: evaluating };
  }
  return afterRound(next, round, now);
}

/** Metrics averaged over centres, weighted by their example counts (Flower's weighted_loss_avg for every metric). */
export function weightedMetrics(accepted: Record<string, { numExamples: number; metrics: Record<string, number> }>, centres: readonly string[]): Record<string, number> {
  const sums: Record<string, { total: number; examples: number }> = {};
  for (const id of centres) {
    const u = accepted[id];
    if (!u) continue;
    for (const [name, value] of Object.entries(u.metrics)) {
      const m = (sums[name] ??= { total: 0, examples: 0 });
      m.total += value * u.numExamples;
      m.examples += u.numExamples;
    }
  }
  return Object.fromEntries(Object.entries(sums).map(([name, m]) => [name, m.examples > 0 ? m.total / m.examples : 0]));
}
