import { z } from 'zod';
import { isSubjectToken, LEDGER_ID, TASK_LIMITS, type ExperimentPlan, type StrategyName } from '@fedledger/contracts';

/** Experiment and centre ids are subject tokens (and KV keys). */
const token = z.string().refine(isSubjectToken, "expected 1..128 letters, digits, '_' or '-'");
const STRATEGIES = ['fedavg', 'fedavgm', 'fedprox', 'fedmedian', 'fedtrimmedavg', 'krum', 'multikrum', 'bulyan', 'fedadam', 'fedyogi', 'fedadagrad'] as const satisfies readonly StrategyName[];

const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);

const landmarkSchema = z
  .object({
    percentiles: z.array(z.number().min(0).max(100)).min(2).refine(increasing, 'must be strictly increasing'),
    standard: z.array(z.number().finite()).min(2).refine(increasing, 'must be strictly increasing'),
    foregroundThreshold: z.number().min(0).max(1).default(0),
  })
  .refine((l) => l.percentiles.length === l.standard.length, { message: 'percentiles and standard must have the same length', path: ['standard'] });

const dataSchema = z
  .object({
    inputShape: z.array(z.number().int().min(1).max(4096)).min(1).max(3),
    landmarks: landmarkSchema.optional(),
    normalisation: z.enum(['zscore', 'minmax', 'none']).default('zscore'),
    validationFraction: z.number().gt(0).lt(1).default(0.2),
    testFraction: z.number().min(0).lt(1).default(0.2),
    splitSeed: z.number().int().min(0).max(0xffffffff).default(1),
    augment: z.boolean().default(true),
  })
  .refine((d) => d.validationFraction + d.testFraction < 1, { message: 'validationFraction + testFraction must leave patients to train on', path: ['testFraction'] });

/** An experiment as a developer writes it (YAML/JSON file or REST body); defaults follow Flower's. */
export const experimentPlanSchema = z
  .object({
    id: token,
    modelArchitecture: z.string().min(1).default('dense-test'),
    initialWeights: z.object({ blobId: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex characters'), sizeBytes: z.number().int().nonnegative() }),
    strategy: z.object({ kind: z.enum(STRATEGIES), params: z.record(z.string(), z.number().finite()).optional() }).default({ kind: 'fedavg' }),
    rounds: z.number().int().min(1).max(100_000),
    epochsPerRound: z.number().int().min(1).max(TASK_LIMITS.epochs).default(1),
    batchSize: z.number().int().min(1).max(TASK_LIMITS.batchSize).default(32),
    learningRate: z.number().positive().max(TASK_LIMITS.learningRate).default(0.01),
    localOptimizer: z.enum(['sgd', 'adam']).default('sgd'),
    centres: z.array(token).min(1).refine((c) => new Set(c).size === c.length, 'centres must be distinct'),
    fractionFit: z.number().gt(0).max(1).default(1),
    minFitCentres: z.number().int().min(1).default(1),
    minAvailableCentres: z.number().int().min(1).default(1),
    roundDeadlineMs: z.number().int().min(100).max(7 * 24 * 3600 * 1000).default(10 * 60 * 1000),
    maxRoundRetries: z.number().int().min(0).max(100).default(1),
    evaluateEvery: z.number().int().min(0).default(0),
    datasetId: z.string().min(1).default('default'),
    data: dataSchema.optional(),
    passportId: z.string().regex(LEDGER_ID, "expected a passport id: letters, digits, '.', '_', '-'; at most 128 characters").optional(),
  })
  .superRefine((p, ctx) => {
    if (p.minFitCentres > p.centres.length) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['minFitCentres'], message: `${p.minFitCentres} is more than the ${p.centres.length} centres taking part` });
    }
    if (p.minAvailableCentres > p.centres.length) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['minAvailableCentres'], message: `${p.minAvailableCentres} is more than the ${p.centres.length} centres taking part` });
    }
  });

export class InvalidExperimentPlan extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid experiment plan: ${problems.join('; ')}`);
    this.name = 'InvalidExperimentPlan';
  }
}

export function parseExperimentPlan(input: unknown): ExperimentPlan {
  const result = experimentPlanSchema.safeParse(input);
  if (!result.success) {
    throw new InvalidExperimentPlan(result.error.issues.map((i) => `${i.path.join('.') || 'plan'}: ${i.message}`));
  }
  return result.data as ExperimentPlan;
}

/** How many centres a round asks: fraction_fit of them, at least min_fit, at most all (Flower's num_fit_clients). */
export function centresPerRound(plan: ExperimentPlan): number {
  return Math.min(plan.centres.length, Math.max(plan.minFitCentres, Math.floor(plan.centres.length * plan.fractionFit)));
}
