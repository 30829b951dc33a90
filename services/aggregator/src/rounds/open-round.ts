import type { WeightTensor } from '@fedledger/fl-core';
import type { StoredBlobRef } from '@fedledger/contracts';
import type { RoundAccumulator } from './strategy';

export interface FoldedUpdate {
  taskId: string;
  numExamples: number;
  metrics: { name: string; value: number }[];
  weights: StoredBlobRef;
  trainDurationMs: number;
}

/**
 * A round the aggregator is folding updates into. Update handlers wait on `done` before they ack,
 * so until the aggregate is published every counted update is still in the stream: a crash loses
 * nothing, the redelivered updates are folded again into a fresh round.
 */
export class OpenRound {
  readonly folded = new Map<string, FoldedUpdate>();
  /** Centres whose update is being downloaded or checked right now, and that work. */
  readonly inProgress = new Map<string, Promise<void>>();
  private resolveDone!: () => void;
  private rejectDone!: (err: Error) => void;
  readonly done: Promise<void>;
  private waiters: (() => void)[] = [];
  closing = false;

  constructor(
    readonly experimentId: string,
    readonly round: number,
    readonly global: WeightTensor[],
    readonly accumulator: RoundAccumulator,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Handlers await it; an abandoned round must not become an unhandled rejection.
    this.done.catch(() => undefined);
  }

  fold(centreId: string, weights: readonly Float32Array[], update: FoldedUpdate): void {
    this.accumulator.add({ tensors: weights, numExamples: update.numExamples });
    this.folded.set(centreId, update);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once every listed centre is folded, or rejects after timeoutMs naming the missing ones. */
  async waitFor(centres: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = centres.filter((c) => !this.folded.has(c));
      if (missing.length === 0) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`round ${this.round} of ${this.experimentId}: updates of ${missing.join(', ')} not (yet) received`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1_000));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  complete(): void {
    this.resolveDone();
  }

  abandon(reason: Error): void {
    this.rejectDone(reason);
  }
}
