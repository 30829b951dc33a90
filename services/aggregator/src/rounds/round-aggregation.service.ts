import { createHash } from 'node:crypto';
import path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { UpdateSignatureError, verifyUpdateSignature } from '@fedledger/identity';
import { SERVICE_CONFIG } from '@fedledger/service-kit';
import type { AggregatorConfig } from '../service';
import {
  centrePrincipal,
  isSubjectToken,
  kvBuckets,
  RejectReason,
  RoundAggregated,
  subjects,
  UpdateAccepted,
  UpdateRejected,
  type ExperimentState,
  type ModelUpdate,
  type RoundClose,
} from '@fedledger/contracts';
import { allocateWeights, decodeWeights, WeightFormatError, type WeightTensor } from '@fedledger/fl-core';
import {
  BlobCorruptedError,
  BlobNotFoundError,
  BlobStore,
  JetStreamConnection,
  JetStreamPublisher,
  jsonCodec,
  KvState,
  type BlobRef,
} from '@fedledger/messaging';
import { lazyInstruments } from '@fedledger/telemetry';
import { OpenRound } from './open-round';

const instruments = lazyInstruments('aggregator', (meter) => ({
  updatesAccepted: meter.createCounter('fedledger.updates.accepted', { description: 'centre updates counted into a round' }),
  updatesRejected: meter.createCounter('fedledger.updates.rejected', { description: 'centre updates rejected, by reason (RejectReason)' }),
}));
import { openAccumulator } from './strategy';
import { checkAgainstGlobal, standingOf, UpdateRejection } from './update-validation';

const refOf = (r: { blobId?: string | null; sha256?: string | null; sizeBytes?: number | null } | null | undefined): BlobRef | undefined =>
  r?.blobId && r.sha256 ? { blobId: r.blobId, sha256: r.sha256, sizeBytes: r.sizeBytes ?? 0 } : undefined;

/**
 * Validates updates, folds them into their round as they arrive and, when the coordinator closes
 * the round, stores the aggregate and announces it. The experiment state (JetStream KV, written by
 * the coordinator) says which centres a round expects.
 */
@Injectable()
export class RoundAggregationService {
  private readonly logger = new Logger('RoundAggregation');
  private readonly publisher: JetStreamPublisher;
  private readonly rounds = new Map<string, Promise<OpenRound>>();
  /** Update blobs fetched at once: more only splits the same bandwidth and memory, and times out on a busy host. */
  private readonly downloads = new Limiter(2);
  private experiments: KvState<ExperimentState> | undefined;

  constructor(
    private readonly connection: JetStreamConnection,
    private readonly blobs: BlobStore,
    @Inject(SERVICE_CONFIG) private readonly config: AggregatorConfig,
  ) {
    this.publisher = new JetStreamPublisher(connection);
  }

  /**
   * Handles one update. Resolves when the update's round is aggregated (so the message is acked only
   * then), or at once when the update is rejected or was already counted.
   */
  async onUpdate(u: ModelUpdate, receivedAtMs: number, subject: string, shutdown?: AbortSignal): Promise<void> {
    try {
      const round = await this.accept(u, receivedAtMs, subject);
      if (round) await untilDoneOrAborted(round.done, shutdown);
    } catch (err) {
      if (!(err instanceof UpdateRejection)) throw err;
      await this.reject(u, err);
    }
  }

  /** Aggregates a round from exactly the updates folded for it (waiting for the listed ones after a restart). */
  async onClose(cmd: RoundClose): Promise<void> {
    const state = await this.experimentState(cmd.experimentId);
    if (!state) {
      this.logger.warn(`close of round ${cmd.round} of unknown experiment ${cmd.experimentId} ignored`);
      return;
    }
    if (state.completedRounds.some((r) => r.round === cmd.round)) return; // already aggregated and recorded
    const round = await this.roundFor(state, cmd.round);
    round.closing = true;
    await round.waitFor(cmd.centreIds, 120_000);
    const started = Date.now();
    // The mean is written straight into the blob it is stored as.
    const encoded = allocateWeights(round.global);
    const { state: optimiserState } = round.accumulator.finish(encoded.tensors.map((t) => t.data));
    // Keys from the round: after a crash the same aggregate is found again instead of stored twice. The initial
    // weights' id (random, known only to the experiment's parties) makes them unguessable to anyone else.
    const roundKey = digest(`${cmd.experimentId}/${cmd.round}/${state.plan.initialWeights.blobId}`);
    const aggregate = await this.blobs.putOnce(`a${roundKey}`, encoded.bytes);
    const strategyState = optimiserState ? await this.blobs.putOnce(`s${roundKey}`, optimiserState) : undefined;
    const results = [...round.folded.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([centreId, f]) => ({ centreId, ...f }));
    const message = RoundAggregated.create({
      experimentId: cmd.experimentId,
      round: cmd.round,
      aggregate,
      results,
      aggregatedMetrics: [],
      aggregationDurationMs: Date.now() - started,
      aggregatedAtUnixMs: Date.now(),
      ...(strategyState ? { strategyState } : {}),
    });
    await this.publisher.publish(subjects.aggregate(cmd.experimentId, cmd.round), RoundAggregated.encode(message).finish(), {
      msgId: `aggregated:${cmd.experimentId}:${cmd.round}`,
    });
    this.rounds.delete(key(cmd.experimentId, cmd.round));
    round.complete();
    this.logger.log(`experiment ${cmd.experimentId} round ${cmd.round}: aggregated ${results.length} updates (${cmd.reason}) into ${aggregate.blobId}`);
  }

  private async accept(u: ModelUpdate, receivedAtMs: number, subject: string): Promise<OpenRound | undefined> {
    const exp = u.experimentId;
    if (!exp || !u.centreId || !u.taskId || !u.round) {
      throw new UpdateRejection(RejectReason.REJECT_REASON_MALFORMED, `update without experiment, round, centre or task id (experiment '${exp}', round ${u.round}, centre '${u.centreId}', task '${u.taskId}')`);
    }
    // NATS lets a centre publish only on subjects ending with its own id: the subject says who sent the update.
    const [, , subjectExp, subjectRound, subjectCentre] = subject.split('.');
    if (subjectCentre !== u.centreId || subjectExp !== exp || subjectRound !== String(u.round)) {
      throw new UpdateRejection(RejectReason.REJECT_REASON_MALFORMED, `update naming centre ${u.centreId}, experiment ${exp}, round ${u.round} was published on ${subject}`);
    }
    const maxExamples = this.config.UPDATE_MAX_EXAMPLES;
    if (!Number.isSafeInteger(u.numExamples) || u.numExamples < 1 || u.numExamples > maxExamples) {
      throw new UpdateRejection(RejectReason.REJECT_REASON_MALFORMED, `update from centre ${u.centreId} claims ${u.numExamples} examples; it must be an integer 1..${maxExamples} (UPDATE_MAX_EXAMPLES)`);
    }
    const ref = refOf(u.weights);
    if (!ref) throw new UpdateRejection(RejectReason.REJECT_REASON_MALFORMED, `update from centre ${u.centreId} has no weights reference`);
    // Its weights must be a blob the centre wrote itself (its scope), not somebody else's passed off as its own.
    const scope = subjects.blobScope(centrePrincipal(u.centreId));
    if (!ref.blobId.startsWith(`${scope}.`)) {
      throw new UpdateRejection(RejectReason.REJECT_REASON_MALFORMED, `update from centre ${u.centreId}: weights blob ${ref.blobId} is not in the centre's own blob scope ${scope}`);
    }
    if (ref.sizeBytes > this.blobs.maxBytes) {
      throw new UpdateRejection(RejectReason.REJECT_REASON_MALFORMED, `update from centre ${u.centreId}: weights blob of ${ref.sizeBytes} bytes exceeds the ${this.blobs.maxBytes} byte limit (BLOB_MAX_BYTES)`);
    }
    const state = await this.experimentState(exp);
    if (!state) throw new UpdateRejection(RejectReason.REJECT_REASON_MALFORMED, `update from centre ${u.centreId} is for experiment ${exp}, which does not exist`);
    this.checkSignature(u, ref.sha256);
    if (standingOf(state, u.round, u.centreId, u.taskId, receivedAtMs).kind === 'already-counted') return undefined;

    const round = await this.roundFor(state, u.round);
    // One update per centre at a time: a second one waits for the first, then counts only if the first did not.
    for (let busy = round.inProgress.get(u.centreId); busy; busy = round.inProgress.get(u.centreId)) await busy.catch(() => undefined);
    if (round.folded.has(u.centreId)) return undefined;
    if (round.closing && !state.current?.closedFor?.includes(u.centreId)) {
      throw new UpdateRejection(RejectReason.REJECT_REASON_ROUND_CLOSED, `update from centre ${u.centreId} arrived after round ${u.round} of ${exp} was closed`);
    }
    const work = this.fold(round, u, ref);
    round.inProgress.set(u.centreId, work);
    try {
      await work;
    } finally {
      round.inProgress.delete(u.centreId);
    }
    const accepted = UpdateAccepted.create({
      experimentId: exp,
      round: u.round,
      centreId: u.centreId,
      taskId: u.taskId,
      numExamples: u.numExamples,
      metrics: u.metrics,
      weights: ref,
      trainDurationMs: u.trainDurationMs,
      acceptedAtUnixMs: Date.now(),
    });
    await this.publisher.publish(subjects.updateAccepted(exp), UpdateAccepted.encode(accepted).finish(), { msgId: `accepted:${exp}:${u.round}:${u.centreId}` });
    instruments().updatesAccepted.add(1);
    return round;
  }

  private async fold(round: OpenRound, u: ModelUpdate, ref: BlobRef): Promise<void> {
    let tensors: WeightTensor[];
    try {
      tensors = decodeWeights(await this.downloads.run(() => this.blobs.getBytes(ref)));
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw new UpdateRejection(RejectReason.REJECT_REASON_BLOB_MISSING, `update from centre ${u.centreId}: ${err.message}`);
      if (err instanceof BlobCorruptedError) throw new UpdateRejection(RejectReason.REJECT_REASON_DIGEST_MISMATCH, `update from centre ${u.centreId}: ${err.message}`);
      if (err instanceof WeightFormatError) throw new UpdateRejection(RejectReason.REJECT_REASON_MALFORMED, `update from centre ${u.centreId}: weights blob ${ref.blobId} is not FLW1: ${err.message}`);
      throw err;
    }
    checkAgainstGlobal(u.centreId, tensors, round.global);
    const metrics = (u.metrics ?? []).map((m) => ({ name: m.name ?? '', value: m.value ?? 0 }));
    round.fold(
      u.centreId,
      tensors.map((t) => t.data),
      { taskId: u.taskId, numExamples: u.numExamples, metrics, weights: ref, trainDurationMs: u.trainDurationMs },
    );
  }

  /** The centre's signature over this task's weights, per UPDATE_SIGNATURES; a bad or (when required) missing one rejects. */
  private checkSignature(u: ModelUpdate, weightsSha256: string): void {
    const mode = this.config.UPDATE_SIGNATURES;
    if (mode === 'off' || (mode === 'verify' && (u.signature?.length ?? 0) === 0)) return;
    try {
      verifyUpdateSignature(
        path.resolve(this.config.IDENTITY_DIR),
        { experimentId: u.experimentId, round: u.round, centreId: u.centreId, taskId: u.taskId, weightsSha256, numExamples: u.numExamples },
        u.signerCertPem ?? '',
        u.signature ?? new Uint8Array(),
      );
    } catch (err) {
      if (err instanceof UpdateSignatureError) throw new UpdateRejection(RejectReason.REJECT_REASON_BAD_SIGNATURE, err.message);
      throw err;
    }
  }

  private async reject(u: ModelUpdate, why: UpdateRejection): Promise<void> {
    this.logger.warn(why.message);
    instruments().updatesRejected.add(1, { reason: RejectReason[why.code] ?? String(why.code) });
    if (!isSubjectToken(u.experimentId)) return; // nowhere valid to report it
    const event = UpdateRejected.create({
      experimentId: u.experimentId,
      round: u.round,
      centreId: u.centreId,
      taskId: u.taskId,
      code: why.code,
      reason: why.message,
      rejectedAtUnixMs: Date.now(),
    });
    await this.publisher.publish(subjects.updateRejected(u.experimentId), UpdateRejected.encode(event).finish(), {
      // one event per distinct rejection: a redelivered update gives the same reason and is stored once
      msgId: `rejected:${u.experimentId}:${u.round}:${u.centreId}:${u.taskId}:${why.code}:${createHash('sha256').update(why.message).digest('hex').slice(0, 16)}`,
    });
  }

  /** The open round, created on first use from the global weights and the optimiser state in the experiment state. */
  private roundFor(state: ExperimentState, round: number): Promise<OpenRound> {
    const k = key(state.plan.id, round);
    let open = this.rounds.get(k);
    if (!open) {
      open = (async () => {
        const c = state.current;
        if (!c || c.round !== round) throw new UpdateRejection(RejectReason.REJECT_REASON_ROUND_CLOSED, `round ${round} of ${state.plan.id} is not open`);
        const global = decodeWeights(await this.blobs.getBytes(c.globalWeights));
        const optimiserState = state.strategyState ? new Uint8Array(await this.blobs.getBytes(state.strategyState)) : undefined;
        const accumulator = openAccumulator(state.plan.strategy, round, global.map((t) => t.data), optimiserState);
        return new OpenRound(state.plan.id, round, global, accumulator);
      })();
      this.rounds.set(k, open);
      open.catch(() => this.rounds.delete(k));
    }
    return open;
  }

  private async experimentState(id: string): Promise<ExperimentState | undefined> {
    this.experiments ??= await KvState.open(this.connection, { bucket: kvBuckets.experiments, codec: jsonCodec<ExperimentState>('ExperimentState'), history: 10 });
    return (await this.experiments.get(id))?.value;
  }
}

const key = (exp: string, round: number) => `${exp}/${round}`;
const digest = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 40);

/** Waits for the round, unless the service shuts down first (then the update goes back to the stream unacked). */
function untilDoneOrAborted(done: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return done;
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    done.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Runs at most `limit` tasks at once, the others wait their turn in order. */
class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
