import { Controller, Logger } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { EvaluationReported, RoundAggregated, TaskFailed, TaskKind, UpdateAccepted, UpdateRejected } from '@fedledger/contracts';
import { JetStreamContext, JetStreamEvent, protobufCodec } from '@fedledger/messaging';
import { assertSentBy } from './sender';
import { ExperimentNotFound } from '../experiments/experiment.store';
import { RoundEngine } from '../experiments/round-engine';
import { evaluationReported, roundAggregated, taskFailed, updateAccepted, updateRejected } from '../experiments/transitions';

const metricsOf = (list: { name?: string | null; value?: number | null }[] | null | undefined) =>
  Object.fromEntries((list ?? []).map((m) => [m.name ?? '', m.value ?? 0]));

/** What the coordinator hears back: accepted and rejected updates, finished aggregations. */
@Controller()
export class RoundEventsHandler {
  private readonly logger = new Logger('RoundEventsHandler');

  constructor(private readonly engine: RoundEngine) {}

  @JetStreamEvent('update-accepted', protobufCodec(UpdateAccepted, 'fedledger.fl.v1.UpdateAccepted'))
  async accepted(@Payload() e: UpdateAccepted): Promise<void> {
    const update = {
      taskId: e.taskId,
      numExamples: e.numExamples,
      metrics: metricsOf(e.metrics),
      weights: { blobId: e.weights?.blobId ?? '', sha256: e.weights?.sha256 ?? '', sizeBytes: e.weights?.sizeBytes ?? 0 },
      trainDurationMs: e.trainDurationMs,
    };
    await this.forExperiment(() => this.engine.apply(e.experimentId, (s) => updateAccepted(s, e.round, e.centreId, update, Date.now())));
  }

  @JetStreamEvent('update-rejected', protobufCodec(UpdateRejected, 'fedledger.fl.v1.UpdateRejected'))
  async rejected(@Payload() e: UpdateRejected): Promise<void> {
    await this.forExperiment(() => this.engine.apply(e.experimentId, (s) => updateRejected(s, e.round, e.centreId, e.reason, Date.now())));
  }

  @JetStreamEvent('task-failed', protobufCodec(TaskFailed, 'fedledger.fl.v1.TaskFailed'))
  async failed(@Payload() e: TaskFailed, @Ctx() ctx: JetStreamContext): Promise<void> {
    assertSentBy(ctx.subject, e.centreId, 'task failure');
    const kind = e.kind === TaskKind.TASK_KIND_EVALUATE ? 'evaluate' : 'train';
    this.logger.warn(`experiment ${e.experimentId} round ${e.round}: centre ${e.centreId} cannot ${kind}: ${e.reason}`);
    await this.forExperiment(() => this.engine.apply(e.experimentId, (s) => taskFailed(s, e.round, e.centreId, kind, e.reason, Date.now())));
  }

  @JetStreamEvent('evaluation-reported', protobufCodec(EvaluationReported, 'fedledger.fl.v1.EvaluationReported'))
  async evaluated(@Payload() e: EvaluationReported, @Ctx() ctx: JetStreamContext): Promise<void> {
    const v = e.evaluation;
    const centreId = v?.centreId;
    if (!v || !centreId) {
      this.logger.error(`experiment ${e.experimentId} round ${e.round}: evaluation without a centre ignored`);
      return;
    }
    assertSentBy(ctx.subject, centreId, 'evaluation');
    const result = { taskId: v.taskId ?? '', numExamples: v.numExamples ?? 0, metrics: metricsOf(v.metrics), durationMs: Number(v.durationMs ?? 0) };
    await this.forExperiment(() => this.engine.apply(e.experimentId, (s) => evaluationReported(s, e.round, centreId, result, Date.now())));
  }

  @JetStreamEvent('round-aggregated', protobufCodec(RoundAggregated, 'fedledger.fl.v1.RoundAggregated'))
  async aggregated(@Payload() e: RoundAggregated): Promise<void> {
    const ref = (r: typeof e.aggregate) => (r?.blobId ? { blobId: r.blobId, sha256: r.sha256 ?? '', sizeBytes: r.sizeBytes ?? 0 } : undefined);
    const aggregate = ref(e.aggregate);
    if (!aggregate) {
      this.logger.error(`experiment ${e.experimentId} round ${e.round}: aggregate without weights reference ignored`);
      return;
    }
    const results = Object.fromEntries(
      (e.results ?? []).map((r) => [
        r.centreId,
        { taskId: r.taskId, numExamples: r.numExamples, metrics: metricsOf(r.metrics), weights: ref(r.weights) ?? { blobId: '', sha256: '', sizeBytes: 0 }, trainDurationMs: r.trainDurationMs },
      ]),
    );
    await this.forExperiment(async () => {
      await this.engine.apply(
        e.experimentId,
        (s) => roundAggregated(s, e.round, aggregate, ref(e.strategyState), results, Date.now()),
        (after) => this.engine.roundCompleted(after, results),
      );
    });
  }

  /** Events of experiments this coordinator does not know are not for it: log and move on. */
  private async forExperiment(work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (err) {
      if (err instanceof ExperimentNotFound) {
        this.logger.warn(err.message);
        return;
      }
      throw err;
    }
  }
}
