import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { EvaluationReported, isSubjectToken, ModelUpdate, subjects, TASK_LIMITS, TaskFailed, TaskKind, TaskProgress, type TrainingTask } from '@fedledger/contracts';
import { decodeWeights, encodeWeights } from '@fedledger/fl-core';
import { BlobError, BlobStore, JetStreamPublisher, JetStreamConnection, parseBlobId, PoisonMessageError } from '@fedledger/messaging';
import { SERVICE_CONFIG } from '@fedledger/service-kit';
import { IncompatibleJobError, type DataPreparation, type ProgressListener, type Trainer, type TrainingJob, type TrainingResult } from '@fedledger/training';
import { GrantCheck } from '../../grants/grant-check';
import { TASK_MAX_DELIVER, type CentreAgentConfig } from '../../service';

export const TRAINER = Symbol('TRAINER');

/** A task id goes into message-id headers (`update:<taskId>`): printable ASCII, no spaces, at most 256 characters. */
const TASK_ID = /^[\x21-\x7e]{1,256}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

const isIntIn = (value: number, min: number, max: number) => Number.isSafeInteger(value) && value >= min && value <= max;
/** An id from the task as logs and reasons show it: quoted, and cut, since a hostile one can be as long as a message. */
const shown = (id: string) => JSON.stringify(id.length > 140 ? `${id.slice(0, 140)}…` : id);

/**
 * What makes a decoded task one this agent must not run (numbers beyond the limits every experiment plan keeps to:
 * training for ever, on NaN, or allocating what a reference claims), naming the field and why; undefined when nothing does. Its
 * addressee and kind are checked before (they decide whether the coordinator is told).
 */
function taskProblem(task: TrainingTask, maxBlobBytes: number): string | undefined {
  if (!isSubjectToken(task.experimentId)) return `experimentId ${shown(task.experimentId)} is not an experiment id: expected 1..128 letters, digits, '_' or '-'`;
  if (!TASK_ID.test(task.taskId)) return `taskId ${shown(task.taskId)} is not a task id: expected 1..256 printable ASCII characters without spaces (it becomes a message id)`;
  if (task.round < 1) return `round ${task.round}: rounds start at 1`;
  const ref = task.globalWeights;
  if (!ref?.blobId || !ref.sha256) return 'globalWeights: the task has no global weights reference';
  try {
    parseBlobId(ref.blobId);
  } catch (err) {
    if (!(err instanceof BlobError)) throw err;
    return `globalWeights.blobId ${shown(ref.blobId)} is not a blob id: expected <scope>.<key> as the blob store names blobs`;
  }
  if (!SHA256_HEX.test(ref.sha256)) return `globalWeights.sha256 ${shown(ref.sha256)} is not a digest: expected 64 lower-case hex characters`;
  const size = Number(ref.sizeBytes ?? 0);
  if (!isIntIn(size, 1, maxBlobBytes)) return `globalWeights.sizeBytes ${size} is not a blob size this agent reads (1..${maxBlobBytes} bytes)`;
  if (!isIntIn(task.batchSize, 1, TASK_LIMITS.batchSize)) return `batchSize ${task.batchSize} is out of range: expected an integer in 1..${TASK_LIMITS.batchSize}`;
  if (task.kind !== TaskKind.TASK_KIND_TRAIN) return undefined;
  if (!isIntIn(task.epochs, 1, TASK_LIMITS.epochs)) return `epochs ${task.epochs} is out of range: expected an integer in 1..${TASK_LIMITS.epochs}`;
  const lr = task.learningRate;
  if (!Number.isFinite(lr) || lr <= 0 || lr > TASK_LIMITS.learningRate) return `learningRate ${lr} is out of range: expected a finite number in (0, ${TASK_LIMITS.learningRate}]`;
  const mu = task.strategy?.proximalMu ?? 0;
  if (!Number.isFinite(mu) || mu < 0) return `strategy.proximalMu ${mu} is out of range: expected a finite number >= 0`;
  return undefined;
}

/** The task's data specification as the trainer takes it (absent: the trainer's synthetic data). */
function dataOf(task: TrainingTask): { data?: DataPreparation } {
  const d = task.data;
  if (!d?.inputShape?.length) return {};
  const l = d.landmarks;
  const normalisation = d.normalisation === 'minmax' || d.normalisation === 'none' ? d.normalisation : 'zscore';
  return {
    data: {
      inputShape: [...d.inputShape],
      ...(l?.percentiles?.length ? { landmarks: { percentiles: [...l.percentiles], standard: [...(l.standard ?? [])], foregroundThreshold: l.foregroundThreshold ?? 0 } } : {}),
      normalisation,
      validationFraction: d.validationFraction ?? 0.2,
      testFraction: d.testFraction ?? 0,
      splitSeed: d.splitSeed ?? 1,
      augment: d.augment ?? false,
    },
  };
}

/**
 * One task: fetch the global weights (digest checked), train locally, store the new weights as a
 * blob and send the ModelUpdate that references it. Safe to run again for the same task after a
 * crash: the update blob id and the message id are derived from the task.
 */
@Injectable()
export class RunTrainingTask {
  private readonly logger = new Logger('RunTrainingTask');
  private readonly publisher: JetStreamPublisher;
  private activeTaskId: string | undefined;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: CentreAgentConfig,
    @Inject(TRAINER) private readonly trainer: Trainer,
    private readonly grants: GrantCheck,
    private readonly blobs: BlobStore,
    private readonly connection: JetStreamConnection,
  ) {
    this.publisher = new JetStreamPublisher(connection);
  }

  get currentTask(): string | undefined {
    return this.activeTaskId;
  }

  /**
   * Runs a task. A task this centre cannot do (PoisonMessageError: dead-lettered at once) or that failed on
   * its last delivery is reported to the coordinator (TaskFailed), so the round does not wait for it.
   */
  async execute(task: TrainingTask, delivery: number, shutdown?: AbortSignal): Promise<void> {
    try {
      await this.run(task, delivery, shutdown);
    } catch (err) {
      const last = err instanceof PoisonMessageError || delivery >= TASK_MAX_DELIVER;
      // Told only about a task it could have sent: this centre's, with ids a TaskFailed can carry (the dead letter has the rest).
      if (last && !shutdown?.aborted && task.centreId === this.config.CENTRE_ID && isSubjectToken(task.experimentId) && TASK_ID.test(task.taskId)) {
        const reason = err instanceof PoisonMessageError ? err.message : `gave up after ${delivery} attempts: ${(err as Error).message}`;
        await this.reportFailure(task, reason);
      }
      throw err;
    }
  }

  private async reportFailure(task: TrainingTask, reason: string): Promise<void> {
    const failed = TaskFailed.create({ experimentId: task.experimentId, round: task.round, centreId: task.centreId, taskId: task.taskId, kind: task.kind, reason, failedAtUnixMs: Date.now() });
    try {
      await this.publisher.publish(subjects.taskFailed(task.experimentId, task.centreId), TaskFailed.encode(failed).finish(), { msgId: `task-failed:${task.taskId}` });
      this.logger.warn(`task ${task.taskId}: reported to the coordinator as failed: ${reason}`);
    } catch (err) {
      // the dead letter still records it; the round falls back on its deadline
      this.logger.error(`task ${task.taskId}: could not report the failure (${(err as Error).message}); the round will wait for its deadline`);
    }
  }

  /** Progress of a task on core NATS (fl.progress.<experiment>.<centre>, not stored): at most every 500 ms, and at each phase's end. */
  private progressOf(task: TrainingTask): ProgressListener {
    let last = 0;
    const subject = subjects.progress(task.experimentId, task.centreId);
    return ({ phase, done, total }) => {
      const now = Date.now();
      if (done < total && now - last < 500) return;
      last = now;
      const message = TaskProgress.create({ experimentId: task.experimentId, round: task.round, centreId: task.centreId, taskId: task.taskId, kind: task.kind, phase, done, total, sentAtUnixMs: now });
      this.connection.nc.publish(subject, TaskProgress.encode(message).finish());
    };
  }

  private async run(task: TrainingTask, delivery: number, shutdown?: AbortSignal): Promise<void> {
    const ok = (id: string) => (TASK_ID.test(id) ? id : shown(id));
    const where = `task ${ok(task.taskId)} (experiment ${ok(task.experimentId)}, round ${task.round})`;
    if (task.centreId !== this.config.CENTRE_ID) {
      throw new PoisonMessageError(`${where} is addressed to centre ${ok(task.centreId)}, this agent is ${this.config.CENTRE_ID}`);
    }
    if (task.kind !== TaskKind.TASK_KIND_TRAIN && task.kind !== TaskKind.TASK_KIND_EVALUATE) {
      throw new PoisonMessageError(`${where}: task kind ${task.kind} is not supported by this agent`);
    }
    const problem = taskProblem(task, this.blobs.maxBytes);
    if (problem) throw new PoisonMessageError(`${where}: ${problem}`);
    const ref = task.globalWeights!; // present and well-formed: taskProblem checked it
    if (task.deadlineUnixMs && Date.now() > task.deadlineUnixMs) {
      this.logger.warn(`${where}: deadline passed ${Date.now() - task.deadlineUnixMs} ms ago, skipped`);
      return;
    }
    // The centre's own word on its data, before it touches the data.
    await this.grants.assertGranted(task, where);
    if (task.kind === TaskKind.TASK_KIND_EVALUATE) return this.evaluate(task, where, shutdown);

    this.activeTaskId = task.taskId;
    try {
      const started = Date.now();
      const global = decodeWeights(await this.blobs.getBytes({ blobId: ref.blobId!, sha256: ref.sha256!, sizeBytes: ref.sizeBytes ?? 0 }));
      const result = await this.train(shutdown, this.progressOf(task), {
        experimentId: task.experimentId,
        round: task.round,
        centreId: task.centreId,
        modelArchitecture: task.modelArchitecture,
        datasetId: task.datasetId,
        weights: global,
        epochs: task.epochs,
        batchSize: task.batchSize,
        learningRate: task.learningRate,
        proximalMu: task.strategy?.proximalMu ?? 0,
        optimizer: task.optimizer === 'adam' ? 'adam' : 'sgd',
        ...dataOf(task),
      });
      // The key comes from the task and the weights: the same update stored again (a retry after a crash) is found,
      // not stored twice, and nobody without the weights can guess where they are (blobs are read by reference).
      const bytes = encodeWeights(result.weights);
      const key = createHash('sha256').update(`${task.taskId}/${task.centreId}/`).update(bytes).digest('hex').slice(0, 40);
      const weights = await this.blobs.putOnce(`u${key}`, bytes);
      const trainDurationMs = Date.now() - started;
      const update = ModelUpdate.create({
        experimentId: task.experimentId,
        round: task.round,
        centreId: task.centreId,
        taskId: task.taskId,
        weights,
        numExamples: result.numExamples,
        metrics: Object.entries(result.metrics).map(([name, value]) => ({ name, value })),
        trainDurationMs,
        sentAtUnixMs: Date.now(),
        ...this.grants.signature({ experimentId: task.experimentId, round: task.round, centreId: task.centreId, taskId: task.taskId, weightsSha256: weights.sha256, numExamples: result.numExamples }),
      });
      await this.publisher.publish(subjects.update(task.experimentId, task.round, task.centreId), ModelUpdate.encode(update).finish(), {
        msgId: `update:${task.taskId}`,
      });
      this.logger.log(`${where}: trained on ${result.numExamples} examples in ${trainDurationMs} ms (delivery ${delivery}), update ${weights.blobId} sent`);
    } finally {
      this.activeTaskId = undefined;
    }
  }

  /** Evaluates the global model on this centre's held-out data and reports the metrics. */
  private async evaluate(task: TrainingTask, where: string, shutdown?: AbortSignal): Promise<void> {
    const ref = task.globalWeights!;
    this.activeTaskId = task.taskId;
    try {
      const started = Date.now();
      const weights = decodeWeights(await this.blobs.getBytes({ blobId: ref.blobId!, sha256: ref.sha256!, sizeBytes: ref.sizeBytes ?? 0 }));
      const job = { experimentId: task.experimentId, round: task.round, centreId: task.centreId, modelArchitecture: task.modelArchitecture, datasetId: task.datasetId, weights, batchSize: task.batchSize, ...dataOf(task) };
      const result = await this.trainer.evaluate(job, shutdown, this.progressOf(task)).catch((err: unknown) => {
        if (err instanceof IncompatibleJobError) throw new PoisonMessageError(`${where}: ${err.message}`);
        throw err;
      });
      const durationMs = Date.now() - started;
      const reported = EvaluationReported.create({
        experimentId: task.experimentId,
        round: task.round,
        evaluation: { centreId: task.centreId, taskId: task.taskId, numExamples: result.numExamples, metrics: Object.entries(result.metrics).map(([name, value]) => ({ name, value })), durationMs },
        reportedAtUnixMs: Date.now(),
      });
      await this.publisher.publish(subjects.evaluationReported(task.experimentId, task.centreId), EvaluationReported.encode(reported).finish(), { msgId: `evaluation:${task.taskId}` });
      this.logger.log(`${where}: evaluated on ${result.numExamples} examples in ${durationMs} ms`);
    } finally {
      this.activeTaskId = undefined;
    }
  }

  /** A job the trainer cannot run as given is dead-lettered at once with its reason; other failures are retried. */
  private async train(signal: AbortSignal | undefined, progress: ProgressListener, job: TrainingJob): Promise<TrainingResult> {
    try {
      return await this.trainer.train(job, signal, progress);
    } catch (err) {
      if (err instanceof IncompatibleJobError) throw new PoisonMessageError(`task for experiment ${job.experimentId} round ${job.round}: ${err.message}`);
      throw err;
    }
  }

}
