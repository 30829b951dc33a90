import './protobuf-runtime';
import { fedledger } from './generated/fedledger';

const { EvaluationReported, ExperimentCompleted, ExperimentOutcome, RejectReason, RoundCompleted, RoundEvaluated, RoundStarted, TaskFailed, TaskKind, UpdateAccepted, UpdateRejected } =
  fedledger.fl.v1;

/** One analyst-facing event as a plain JSON object: `event` names it, the rest are its fields. */
export type EventRecord = { event: string; experimentId: string } & Record<string, unknown>;

const metrics = (list: { name?: string | null; value?: number | null }[] | null | undefined) =>
  Object.fromEntries((list ?? []).map((m) => [m.name ?? '', m.value ?? 0]));

/** Decodes a message of FL_EVENTS by its kind (fl.events.<experiment>.<kind>[.<centre>]; every kind is two tokens). */
export function decodeEvent(subject: string, data: Uint8Array): EventRecord {
  const kind = subject.split('.').slice(3, 5).join('.');
  switch (kind) {
    case 'round.started': {
      const e = RoundStarted.decode(data);
      return { event: kind, experimentId: e.experimentId, round: e.round, centres: e.centreIds, deadlineUnixMs: e.deadlineUnixMs, globalWeights: e.globalWeights?.sha256 };
    }
    case 'update.accepted': {
      const e = UpdateAccepted.decode(data);
      return { event: kind, experimentId: e.experimentId, round: e.round, centreId: e.centreId, numExamples: e.numExamples, metrics: metrics(e.metrics), trainDurationMs: e.trainDurationMs };
    }
    case 'update.rejected': {
      const e = UpdateRejected.decode(data);
      return { event: kind, experimentId: e.experimentId, round: e.round, centreId: e.centreId, code: RejectReason[e.code], reason: e.reason };
    }
    case 'round.completed': {
      const e = RoundCompleted.decode(data);
      return {
        event: kind,
        experimentId: e.experimentId,
        round: e.round,
        durationMs: e.durationMs,
        centres: e.results.map((r) => r.centreId),
        examples: e.results.reduce((n, r) => n + (r.numExamples ?? 0), 0),
        aggregatedMetrics: metrics(e.aggregatedMetrics),
        aggregate: e.aggregate?.sha256,
        missing: e.missingCentres,
      };
    }
    case 'task.failed': {
      const e = TaskFailed.decode(data);
      return { event: kind, experimentId: e.experimentId, round: e.round, centreId: e.centreId, task: TaskKind[e.kind], reason: e.reason };
    }
    case 'evaluation.reported': {
      const e = EvaluationReported.decode(data);
      const v = e.evaluation;
      return { event: kind, experimentId: e.experimentId, round: e.round, centreId: v?.centreId ?? '', numExamples: v?.numExamples ?? 0, metrics: metrics(v?.metrics), durationMs: v?.durationMs ?? 0 };
    }
    case 'round.evaluated': {
      const e = RoundEvaluated.decode(data);
      return {
        event: kind,
        experimentId: e.experimentId,
        round: e.round,
        durationMs: e.durationMs,
        centres: Object.fromEntries(e.results.map((r) => [r.centreId, { numExamples: r.numExamples, metrics: metrics(r.metrics) }])),
        examples: e.results.reduce((n, r) => n + (r.numExamples ?? 0), 0),
        aggregatedMetrics: metrics(e.aggregatedMetrics),
        globalWeights: e.globalWeights?.sha256,
        missing: e.missingCentres,
      };
    }
    case 'experiment.completed': {
      const e = ExperimentCompleted.decode(data);
      return {
        event: kind,
        experimentId: e.experimentId,
        outcome: ExperimentOutcome[e.outcome],
        reason: e.reason,
        roundsCompleted: e.roundsCompleted,
        finalWeights: e.finalWeights?.sha256,
        durationMs: e.durationMs,
      };
    }
    default:
      return { event: kind, experimentId: subject.split('.')[2] ?? '', bytes: data.length };
  }
}

const metricText = (e: Record<string, unknown>): string => {
  const parts = Object.entries((e.aggregatedMetrics ?? {}) as Record<string, number>).map(([k, v]) => `${k} ${Number(v.toFixed(4))}`);
  return parts.length ? `, ${parts.join(', ')}` : '';
};
const missingText = (e: Record<string, unknown>): string => {
  const missing = (e.missing ?? []) as string[];
  return missing.length ? `, missing ${missing.join(', ')}` : '';
};

/** One readable line per event for people; `--json` prints the record itself. */
export function describeEvent(e: EventRecord): string {
  switch (e.event) {
    case 'round.started':
      return `round ${e.round} started: ${(e.centres as string[]).length} centres`;
    case 'update.accepted':
      return `round ${e.round}: update from ${e.centreId} accepted (${e.numExamples} examples, trained in ${e.trainDurationMs} ms)`;
    case 'update.rejected':
      return `round ${e.round}: update from ${e.centreId} rejected (${e.code}): ${e.reason}`;
    case 'round.completed':
      return `round ${e.round} completed in ${e.durationMs} ms: ${(e.centres as string[]).length} centres, ${e.examples} examples${metricText(e)}${missingText(e)}`;
    case 'task.failed':
      return `round ${e.round}: ${e.centreId} cannot do its ${String(e.task).replace('TASK_KIND_', '').toLowerCase()} task: ${e.reason}`;
    case 'evaluation.reported':
      return `round ${e.round}: ${e.centreId} evaluated the global model on ${e.numExamples} examples${metricText({ aggregatedMetrics: e.metrics })}`;
    case 'round.evaluated':
      return `round ${e.round} evaluated in ${e.durationMs} ms: ${Object.keys(e.centres as object).length} centres, ${e.examples} examples${metricText(e)}${missingText(e)}`;
    case 'experiment.completed':
      return `experiment ${e.experimentId} ${String(e.outcome).replace('EXPERIMENT_OUTCOME_', '').toLowerCase()} after ${e.roundsCompleted} rounds in ${e.durationMs} ms${e.reason ? `: ${e.reason}` : ''}`;
    default:
      return `${e.event} (${e.bytes} bytes)`;
  }
}
