import { createHash } from 'node:crypto';
import type { EvaluationJob, EvaluationResult, Trainer, TrainingJob, TrainingResult } from './trainer';

/**
 * Returns the global weights plus a small deterministic perturbation (seeded by experiment, round
 * and centre), without touching data: what a round costs when training costs nothing. For overhead
 * benchmarks and protocol tests, never for models.
 */
export class NoopTrainer implements Trainer {
  readonly name = 'noop';

  constructor(
    private readonly numExamples = 100,
    /** Pretends training takes this long (ms): stragglers and mid-round crashes in tests. */
    private readonly delayMs = 0,
    private readonly amplitude = 1e-3,
  ) {}

  async train(job: TrainingJob, signal?: AbortSignal): Promise<TrainingResult> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    signal?.throwIfAborted();
    const seed = createHash('sha256').update(`${job.experimentId}/${job.round}/${job.centreId}`).digest().readUInt32LE(0);
    let x = seed || 1;
    const scale = this.amplitude / 0xffffffff;
    const weights = job.weights.map((t) => {
      const data = new Float32Array(t.data.length);
      for (let i = 0; i < data.length; i++) {
        // xorshift32: fast, deterministic, uniform enough for a perturbation
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        data[i] = t.data[i]! + ((x >>> 0) * scale - this.amplitude / 2);
      }
      return { name: t.name, shape: [...t.shape], data };
    });
    return { weights, numExamples: this.numExamples, metrics: { loss: 0, accuracy: 0 } };
  }

  /** No data either: reports the weights' root mean square as `rms`, a real function of the model it was sent. */
  async evaluate(job: EvaluationJob, signal?: AbortSignal): Promise<EvaluationResult> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    signal?.throwIfAborted();
    let sum = 0;
    let count = 0;
    for (const t of job.weights) {
      for (let i = 0; i < t.data.length; i++) sum += t.data[i]! * t.data[i]!;
      count += t.data.length;
    }
    return { numExamples: this.numExamples, metrics: { rms: count ? Math.sqrt(sum / count) : 0 } };
  }
}
