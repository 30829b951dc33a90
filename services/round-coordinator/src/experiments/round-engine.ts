import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import {
  ExperimentCompleted,
  ExperimentOutcome,
  RoundClose,
  RoundCompleted,
  RoundEvaluated,
  RoundStarted,
  subjects,
  TaskKind,
  TrainingTask,
  type AcceptedUpdate,
  type ExperimentState,
  type RoundProgress,
} from '@fedledger/contracts';
import { context as otelContext, trace, type Attributes } from '@opentelemetry/api';
import { lazyInstruments } from '@fedledger/telemetry';
import { JetStreamConnection, JetStreamPublisher, NoChange } from '@fedledger/messaging';
import { GrantGate } from '../grants/grant-gate';
import { ExperimentStore } from './experiment.store';
import { dataSpecMessage, strategyMessage } from './plan-proto';
import { deadlineReached, reportedCannot, tasksRefused } from './transitions';

export const EXPERIMENT_STORE = Symbol('EXPERIMENT_STORE');

/** FL_EVENTS, FL_TASKS and FL_CONTROL drop a repeated Nats-Msg-Id within this window (service.ts). */
export const EVENTS_DUPLICATE_WINDOW_MS = 3600 * 1000;

/**
 * The centres still to be sent this phase's task: only those that have not answered, so a restart or a retry never
 * sends a second task to one that did (a rejected update is retried in training; a reported failure is final).
 */
function pendingCentres(c: RoundProgress, kind: 'train' | 'evaluate'): string[] {
  return kind === 'train'
    ? c.selected.filter((centre) => !c.accepted[centre] && !reportedCannot(c.rejected[centre], 'train'))
    : c.selected.filter((centre) => !c.evaluations?.[centre] && !c.rejected[centre]);
}

const tracer = trace.getTracer('round-coordinator');
const instruments = lazyInstruments('round-coordinator', (meter) => ({
  roundsStarted: meter.createCounter('fedledger.rounds.started', { description: 'training rounds (and retries) whose tasks were sent' }),
  roundsCompleted: meter.createCounter('fedledger.rounds.completed', { description: 'rounds aggregated and recorded' }),
  roundDuration: meter.createHistogram('fedledger.round.duration', { unit: 's', description: 'from a round sending its tasks to its aggregate being recorded' }),
}));

/** Whether `s` begins a phase `previous` was not in: a new round, a retry, training → evaluating, or a resumed one. */
function beginsPhase(s: ExperimentState, previous: ExperimentState | undefined): boolean {
  const c = s.current;
  const p = previous?.current;
  return !previous || previous.status !== 'running' || !p || !c || p.round !== c.round || p.attempt !== c.attempt || p.phase !== c.phase;
}

const metricList = (m: Record<string, number>) => Object.entries(m).map(([name, value]) => ({ name, value }));

/**
 * Applies transitions to stored experiments and carries out what the new state calls for: tasks to
 * the selected centres that have not answered, round events, the close command, deadline timers.
 * Every effect is idempotent (Nats-Msg-Id from the fact), so after a crash the coordinator simply
 * re-applies the effects of each running experiment's state.
 */
@Injectable()
export class RoundEngine implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RoundEngine');
  private readonly publisher: JetStreamPublisher;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopping = false;

  constructor(
    @Inject(EXPERIMENT_STORE) private readonly store: ExperimentStore,
    connection: JetStreamConnection,
    private readonly grants: GrantGate,
  ) {
    this.publisher = new JetStreamPublisher(connection);
  }

  /** Recovery: whatever was running before a restart continues from its stored state. */
  async onApplicationBootstrap(): Promise<void> {
    for (const id of await this.store.ids()) {
      const s = await this.store.get(id);
      if (!s) continue;
      const last = s.value.completedRounds[s.value.completedRounds.length - 1];
      // A crash between recording a round and announcing it would lose the event. Within FL_EVENTS'
      // duplicate window the msg id makes re-announcing a no-op when it was not lost.
      if (last && Date.now() - last.completedAtMs < EVENTS_DUPLICATE_WINDOW_MS) await this.publishRoundCompleted(s.value, last.results, last.round);
      if (s.value.status === 'running') {
        this.logger.log(`resuming experiment ${id} at round ${s.value.current?.round} (${s.value.current?.phase})`);
        await this.effects(s.value);
      }
    }
  }

  onApplicationShutdown(): void {
    this.stopping = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /**
   * Applies `transition` with compare-and-set and then its effects. Returns the new state, or the
   * unchanged one when the transition did not apply (NoChange).
   */
  async apply(
    id: string,
    transition: (s: ExperimentState) => ExperimentState,
    /** Runs after the new state is stored and before its effects, e.g. to announce the round just recorded. */
    announce?: (after: ExperimentState) => Promise<void>,
  ): Promise<{ before: ExperimentState; after: ExperimentState; changed: boolean }> {
    let before: ExperimentState | undefined;
    let changed = true;
    const result = await this.store.update(id, (s) => {
      before = s;
      try {
        return transition(s);
      } catch (err) {
        if (err instanceof NoChange) changed = false;
        throw err;
      }
    });
    if (changed) {
      await announce?.(result.value);
      await this.announceEvaluations(before, result.value);
      await this.effects(result.value, before);
    }
    return { before: before ?? result.value, after: result.value, changed };
  }

  /**
   * Carries out what state `s` calls for. When it begins a phase (`previous` was elsewhere, or after a restart), the
   * dispatch runs in a new trace: a root span per round (and per evaluation), linked to what triggered it, so every
   * task, update, aggregation and recording of that round is one trace tree.
   */
  async effects(s: ExperimentState, previous?: ExperimentState): Promise<void> {
    const c = s.current;
    if (s.status === 'running' && c && (c.phase === 'training' || c.phase === 'evaluating') && beginsPhase(s, previous)) {
      const attributes: Attributes = { 'fedledger.experiment.id': s.plan.id, 'fedledger.round': c.round, 'fedledger.round.attempt': c.attempt, 'fedledger.round.centres': c.selected.length };
      const trigger = trace.getActiveSpan()?.spanContext();
      const span = tracer.startSpan(c.phase === 'training' ? `round ${c.round}` : `round ${c.round} evaluation`, { root: true, attributes, ...(trigger ? { links: [{ context: trigger }] } : {}) });
      if (c.phase === 'training') instruments().roundsStarted.add(1, { 'fedledger.experiment.id': s.plan.id });
      try {
        await otelContext.with(trace.setSpan(otelContext.active(), span), () => this.carryOut(s, true));
      } finally {
        span.end();
      }
      return;
    }
    await this.carryOut(s, false);
  }

  /** `begins`: the phase starts here (its tasks go out for the first time); later calls re-send only what is pending. */
  private async carryOut(s: ExperimentState, begins: boolean): Promise<void> {
    const id = s.plan.id;
    this.clearTimer(id);
    if (s.status === 'running' && s.current) {
      const c = s.current;
      if (c.phase === 'training' || c.phase === 'evaluating') {
        const kind = c.phase === 'training' ? 'train' : 'evaluate';
        // When a phase begins, centres whose grant was revoked or expired since the start get no task: they are
        // recorded as unable to do it, with the ledger's reason, and that new state's effects send the others theirs.
        // (Asked once per phase, not on every state change: the re-sends that follow are no-ops for the server.)
        const refused = begins ? await this.grants.revoked(s, pendingCentres(c, kind)) : {};
        if (Object.keys(refused).length > 0) {
          for (const [centre, reason] of Object.entries(refused)) this.logger.warn(`experiment ${id} round ${c.round}: no ${kind} task for ${centre}: ${reason}`);
          if ((await this.apply(id, (st) => tasksRefused(st, c.round, kind, refused, Date.now()))).changed) return;
        }
        if (kind === 'train') await this.dispatch(s, c, refused);
        else await this.dispatchEvaluation(s, c, refused);
        this.armDeadline(id, c);
      } else {
        await this.publishClose(s, s.current);
      }
    }
    if (s.status === 'completed' || s.status === 'failed' || s.status === 'aborted') await this.publishExperimentCompleted(s);
  }

  /** A round just recorded (by the aggregator's answer): announced, and counted in the metrics. */
  async roundCompleted(after: ExperimentState, results: Record<string, AcceptedUpdate>): Promise<void> {
    await this.publishRoundCompleted(after, results);
    const summary = after.completedRounds[after.completedRounds.length - 1];
    if (!summary) return;
    instruments().roundsCompleted.add(1, { 'fedledger.experiment.id': after.plan.id });
    instruments().roundDuration.record(summary.durationMs / 1000, { 'fedledger.experiment.id': after.plan.id });
  }

  /** RoundCompleted for analysts: the round just recorded in `after`, made of `results`. */
  async publishRoundCompleted(after: ExperimentState, results: Record<string, AcceptedUpdate>, round?: number): Promise<void> {
    const summary = round === undefined ? after.completedRounds[after.completedRounds.length - 1] : after.completedRounds.find((r) => r.round === round);
    if (!summary) return;
    const event = RoundCompleted.create({
      experimentId: after.plan.id,
      round: summary.round,
      results: summary.centres.map((centreId) => {
        const u = results[centreId]!;
        return { centreId, taskId: u.taskId, numExamples: u.numExamples, metrics: metricList(u.metrics), weights: u.weights, trainDurationMs: u.trainDurationMs };
      }),
      aggregatedMetrics: metricList(summary.aggregatedMetrics),
      aggregate: summary.aggregate,
      durationMs: summary.durationMs,
      missingCentres: summary.missing,
      strategy: strategyMessage(after.plan.strategy),
      completedAtUnixMs: summary.completedAtMs,
    });
    await this.publisher.publish(subjects.roundCompleted(after.plan.id), RoundCompleted.encode(event).finish(), { msgId: `round-completed:${after.plan.id}:${summary.round}` });
    this.logger.log(`experiment ${after.plan.id}: round ${summary.round} completed in ${summary.durationMs} ms with ${summary.centres.length} centres${summary.missing.length ? `, missing ${summary.missing.join(', ')}` : ''}`);
  }

  /** RoundEvaluated for every round whose evaluation `after` records and `before` did not. */
  private async announceEvaluations(before: ExperimentState | undefined, after: ExperimentState): Promise<void> {
    for (const summary of after.completedRounds) {
      const evaluation = summary.evaluation;
      if (!evaluation || before?.completedRounds.find((r) => r.round === summary.round)?.evaluation) continue;
      const event = RoundEvaluated.create({
        experimentId: after.plan.id,
        round: summary.round,
        results: Object.entries(evaluation.results).map(([centreId, r]) => ({ centreId, taskId: r.taskId, numExamples: r.numExamples, metrics: metricList(r.metrics), durationMs: r.durationMs })),
        aggregatedMetrics: metricList(evaluation.aggregatedMetrics),
        globalWeights: summary.aggregate,
        missingCentres: evaluation.missing,
        durationMs: evaluation.durationMs,
        evaluatedAtUnixMs: evaluation.completedAtMs,
      });
      await this.publisher.publish(subjects.roundEvaluated(after.plan.id), RoundEvaluated.encode(event).finish(), { msgId: `round-evaluated:${after.plan.id}:${summary.round}` });
      const metrics = Object.entries(evaluation.aggregatedMetrics).map(([k, v]) => `${k} ${v.toFixed(4)}`);
      this.logger.log(`experiment ${after.plan.id}: round ${summary.round} evaluated by ${Object.keys(evaluation.results).length} centres${metrics.length ? `: ${metrics.join(', ')}` : ''}`);
    }
  }

  /** Evaluation tasks: the round's aggregate to every centre that has not answered yet. */
  private async dispatchEvaluation(s: ExperimentState, c: RoundProgress, refused: Record<string, string>): Promise<void> {
    const pending = pendingCentres(c, 'evaluate').filter((centre) => !(centre in refused));
    await this.sendTasks(s, c, pending, TaskKind.TASK_KIND_EVALUATE, (centreId) => `${s.plan.id}-r${c.round}-eval-${centreId}`);
  }

  private async dispatch(s: ExperimentState, c: RoundProgress, refused: Record<string, string>): Promise<void> {
    const exp = s.plan.id;
    const started = RoundStarted.create({
      experimentId: exp,
      round: c.round,
      centreIds: c.selected,
      globalWeights: c.globalWeights,
      strategy: strategyMessage(s.plan.strategy),
      minCentres: s.plan.minFitCentres,
      deadlineUnixMs: c.deadlineMs,
      startedAtUnixMs: c.startedAtMs,
    });
    await this.publisher.publish(subjects.roundStarted(exp), RoundStarted.encode(started).finish(), { msgId: `round-started:${exp}:${c.round}:${c.attempt}` });
    const pending = pendingCentres(c, 'train').filter((centre) => !(centre in refused));
    await this.sendTasks(s, c, pending, TaskKind.TASK_KIND_TRAIN, (centreId) => `${exp}-r${c.round}-a${c.attempt}-${centreId}`);
  }

  /** One task per centre on its own subject, the global weights by reference; the msg id makes a re-send a no-op. */
  private async sendTasks(s: ExperimentState, c: RoundProgress, centres: readonly string[], kind: TaskKind, taskIdOf: (centreId: string) => string): Promise<void> {
    const exp = s.plan.id;
    const training =
      kind === TaskKind.TASK_KIND_TRAIN
        ? { epochs: s.plan.epochsPerRound, learningRate: s.plan.learningRate, optimizer: s.plan.localOptimizer ?? 'sgd', strategy: strategyMessage(s.plan.strategy) }
        : {};
    await Promise.all(
      centres.map((centreId) => {
        const taskId = taskIdOf(centreId);
        const task = TrainingTask.create({
          experimentId: exp,
          round: c.round,
          centreId,
          taskId,
          globalWeights: c.globalWeights,
          batchSize: s.plan.batchSize,
          ...training,
          deadlineUnixMs: c.deadlineMs,
          issuedAtUnixMs: Date.now(),
          kind,
          modelArchitecture: s.plan.modelArchitecture,
          datasetId: s.plan.datasetId,
          ...(s.plan.passportId ? { passportId: s.plan.passportId } : {}),
          ...(s.plan.data ? { data: dataSpecMessage(s.plan.data) } : {}),
        });
        return this.publisher.publish(subjects.task(exp, centreId), TrainingTask.encode(task).finish(), { msgId: `task:${taskId}` });
      }),
    );
  }

  private async publishClose(s: ExperimentState, c: RoundProgress): Promise<void> {
    const close = RoundClose.create({
      experimentId: s.plan.id,
      round: c.round,
      centreIds: c.closedFor ?? Object.keys(c.accepted).sort(),
      reason: Date.now() >= c.deadlineMs ? 'deadline' : 'all-answered',
      closedAtUnixMs: Date.now(),
    });
    await this.publisher.publish(subjects.roundClose(s.plan.id, c.round), RoundClose.encode(close).finish(), { msgId: `round-close:${s.plan.id}:${c.round}` });
  }

  private async publishExperimentCompleted(s: ExperimentState): Promise<void> {
    const last = s.completedRounds[s.completedRounds.length - 1];
    const outcome =
      s.status === 'completed' ? ExperimentOutcome.EXPERIMENT_OUTCOME_SUCCEEDED : s.status === 'aborted' ? ExperimentOutcome.EXPERIMENT_OUTCOME_CANCELLED : ExperimentOutcome.EXPERIMENT_OUTCOME_FAILED;
    const event = ExperimentCompleted.create({
      experimentId: s.plan.id,
      outcome,
      reason: s.reason ?? '',
      roundsCompleted: s.completedRounds.length,
      finalWeights: s.globalWeights,
      // training metrics as the centres reported them, and the last evaluation's as eval_<name>
      finalMetrics: metricList({
        ...(last?.aggregatedMetrics ?? {}),
        ...Object.fromEntries(Object.entries(last?.evaluation?.aggregatedMetrics ?? {}).map(([k, v]) => [`eval_${k}`, v])),
      }),
      durationMs: (s.endedAtMs ?? Date.now()) - (s.startedAtMs ?? s.createdAtMs),
      completedAtUnixMs: s.endedAtMs ?? Date.now(),
    });
    await this.publisher.publish(subjects.experimentCompleted(s.plan.id), ExperimentCompleted.encode(event).finish(), { msgId: `experiment-completed:${s.plan.id}` });
    this.logger.log(`experiment ${s.plan.id} ${s.status} after ${s.completedRounds.length} rounds${s.reason ? `: ${s.reason}` : ''}`);
  }

  private armDeadline(id: string, c: RoundProgress): void {
    if (this.stopping) return;
    const { round, attempt } = c;
    const timer = setTimeout(() => {
      this.timers.delete(id);
      void this.onDeadline(id, round, attempt);
    }, Math.max(0, c.deadlineMs - Date.now()));
    this.timers.set(id, timer);
  }

  private async onDeadline(id: string, round: number, attempt: number): Promise<void> {
    try {
      await this.apply(id, (s) => deadlineReached(s, round, attempt, Date.now()));
    } catch (err) {
      this.logger.error(`experiment ${id}: handling the round ${round} deadline failed: ${(err as Error).message}`);
    }
  }

  private clearTimer(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }
}
