/**
 * The experiment state the round-coordinator keeps in JetStream KV (bucket `kvBuckets.experiments`,
 * key = experiment id, JSON). The coordinator is its only writer (compare-and-set); the aggregator
 * reads it to know which centres a round expects and what the global model is.
 */

/** JetStream KV buckets shared between services. */
export const kvBuckets = {
  experiments: 'fl_experiments',
  /** Ledger transaction id → the W3C traceparent of the span that submitted it (the registry writes, the indexer reads). */
  ledgerTraces: 'fl_ledger_traces',
} as const;

/** A blob reference as stored in state (same shape as the protobuf BlobRef's plain object). */
export interface StoredBlobRef {
  blobId: string;
  sha256: string;
  sizeBytes: number;
}

export type StrategyName =
  | 'fedavg'
  | 'fedavgm'
  | 'fedprox'
  | 'fedmedian'
  | 'fedtrimmedavg'
  | 'krum'
  | 'multikrum'
  | 'bulyan'
  | 'fedadam'
  | 'fedyogi'
  | 'fedadagrad';

/** A strategy and its parameters (Flower's names, snake_case as in the experiment files). */
export interface StrategyPlan {
  kind: StrategyName;
  /** Numeric parameters, e.g. proximal_mu, beta, num_malicious_clients, eta, tau, beta_1, beta_2. */
  params?: Record<string, number>;
}

/** What an AI developer defines: the model, the plan and who takes part. */
export interface ExperimentPlan {
  id: string;
  /** Registered model architecture the centres instantiate, e.g. "dense-test" or "cnn-chest-xray-v1". */
  modelArchitecture: string;
  /** Initial global weights (FLW1 blob). */
  initialWeights: StoredBlobRef;
  strategy: StrategyPlan;
  /** Federated rounds (FR). */
  rounds: number;
  /** Local epochs per round (EPR). */
  epochsPerRound: number;
  batchSize: number;
  learningRate: number;
  /** Local optimiser at the centres (its state starts afresh every round). */
  localOptimizer: 'sgd' | 'adam';
  /** Centres taking part. */
  centres: string[];
  /** Fraction of the available centres asked to train each round (Flower's fraction_fit). */
  fractionFit: number;
  /** Fewest centres asked to train in a round (Flower's min_fit_clients), and the quorum: fewer accepted updates and the round is retried. */
  minFitCentres: number;
  /** Fewest centres sending heartbeats for the experiment to start (Flower's min_available_clients). */
  minAvailableCentres: number;
  /** A round aggregates when everyone answered or at this deadline, whichever comes first. */
  roundDeadlineMs: number;
  /** A round that misses its quorum at the deadline is retried this many times, then the experiment fails. */
  maxRoundRetries: number;
  /** Evaluate the global model every k rounds (0 = never). */
  evaluateEvery: number;
  /** Dataset id the centres train on (their grants must allow it). */
  datasetId: string;
  /** How the centres prepare their data; absent: the trainer's own (synthetic) data. */
  data?: DataPlan;
  /** The AI passport on the ledger that the passport-registry records this experiment's rounds and final model on. */
  passportId?: string;
}

/** Nyúl–Udupa landmarks (see DataSpec in fl.proto). */
export interface LandmarkPlan {
  percentiles: number[];
  standard: number[];
  foregroundThreshold: number;
}

/** How every centre prepares its data for the model (see DataSpec in fl.proto). */
export interface DataPlan {
  /** [height, width, channels] for images, [features] for tables. */
  inputShape: number[];
  landmarks?: LandmarkPlan;
  normalisation: 'zscore' | 'minmax' | 'none';
  validationFraction: number;
  testFraction: number;
  splitSeed: number;
  augment: boolean;
}

export interface AcceptedUpdate {
  taskId: string;
  numExamples: number;
  metrics: Record<string, number>;
  weights: StoredBlobRef;
  trainDurationMs: number;
}

/** A centre's evaluation of a round's aggregate on its held-out data. */
export interface CentreEvaluationResult {
  taskId: string;
  numExamples: number;
  metrics: Record<string, number>;
  durationMs: number;
}

/** The evaluation that followed a round (every `evaluateEvery` rounds, and after the last one). */
export interface EvaluationSummary {
  results: Record<string, CentreEvaluationResult>;
  /** Metrics weighted by the centres' example counts. */
  aggregatedMetrics: Record<string, number>;
  /** Centres asked that did not answer, with the reason when they reported a failure. */
  missing: string[];
  durationMs: number;
  completedAtMs: number;
}

/** The round in progress. */
export interface RoundProgress {
  round: number;
  /** 0 for the first try, +1 per retry after a missed quorum. */
  attempt: number;
  /** Training (tasks out, updates coming back), aggregating (the aggregator is closing it), evaluating (the new aggregate at the centres). */
  phase: 'training' | 'aggregating' | 'evaluating';
  startedAtMs: number;
  deadlineMs: number;
  /** Global weights the round's tasks start from. */
  globalWeights: StoredBlobRef;
  /** Centres sent a task this round. */
  selected: string[];
  accepted: Record<string, AcceptedUpdate>;
  /** Centres whose update was rejected or that reported they cannot do the task, with the reason. */
  rejected: Record<string, string>;
  /** Evaluation phase: the centres' results so far. */
  evaluations?: Record<string, CentreEvaluationResult>;
  /** Set once the coordinator told the aggregator to close the round. */
  closedFor?: string[];
}

export interface RoundSummary {
  round: number;
  aggregate: StoredBlobRef;
  centres: string[];
  /** The updates the aggregate was made of, by centre. */
  results: Record<string, AcceptedUpdate>;
  missing: string[];
  /** Why those missing centres are not in it, when known: their update was rejected, they could not train, or no live grant. */
  missingReasons?: Record<string, string>;
  aggregatedMetrics: Record<string, number>;
  durationMs: number;
  completedAtMs: number;
  /** The centres' evaluation of this round's aggregate, when one was due. */
  evaluation?: EvaluationSummary;
}

export type ExperimentStatus = 'created' | 'running' | 'paused' | 'completed' | 'failed' | 'aborted';

export interface ExperimentState {
  plan: ExperimentPlan;
  status: ExperimentStatus;
  /** Latest global weights: the initial ones, then each round's aggregate. */
  globalWeights: StoredBlobRef;
  /** Server-optimiser state after the last round (FedAvgM, FedAdam, ...), as a blob. */
  strategyState?: StoredBlobRef;
  current?: RoundProgress;
  completedRounds: RoundSummary[];
  createdAtMs: number;
  startedAtMs?: number;
  endedAtMs?: number;
  /** Why it failed or was aborted. */
  reason?: string;
  /**
   * With a passport on a ledger: the dataset of each centre whose live grant let the experiment start. The
   * coordinator asks the ledger about it again before every task, so a grant revoked later stops that centre.
   */
  grantedDatasets?: Record<string, string>;
  /** Who created it (the signer of the request): only they, or an admin of their organisation, control it. */
  createdBy?: { org: string; mspId: string; user: string };
}
