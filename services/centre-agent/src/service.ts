import { existsSync, statSync } from 'node:fs';
import { z } from 'zod';
import { envInt } from '@fedledger/config';
import { centrePrincipal, LEDGER_ID, streams, subjects } from '@fedledger/contracts';
import { defineService } from '@fedledger/service-kit';
import { CentreAgentModule } from './centre-agent.module';

/** Settings of the centre-agent besides the common ones (NATS_URL, LOG_LEVEL, LOG_FORMAT, FEDLEDGER_OTEL_EXPORTER, ...). */
export const centreAgentConfig = z.object({
  /** This centre's id, as granted on the ledger; also its task subject token and consumer name. */
  CENTRE_ID: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "expected 1..128 letters, digits, '_' or '-'"),
  /**
   * Which trainer runs the tasks: `tfjs` trains the task's model architecture with TensorFlow.js
   * (tfjs-node-gpu / tfjs-node when installed, else WebAssembly); `noop` returns the global weights
   * slightly perturbed (overhead benchmarks).
   */
  TRAINER: z.enum(['tfjs', 'noop']).default('tfjs'),
  /**
   * This centre's data folder (tfjs trainer): labels.csv + DICOM/PNG images, or data.csv for a table. Read
   * only here: nothing but weights leaves the centre. Experiments with a data specification need it.
   */
  DATA_DIR: z
    .string()
    .min(1)
    .refine((dir) => existsSync(dir) && statSync(dir).isDirectory(), 'no such directory')
    .optional(),
  /** A malformed row or unreadable image: leave it out and report it (`skip`), or refuse the task (`fail`). */
  DATA_ON_ERROR: z.enum(['skip', 'fail']).default('skip'),
  /** Examples in this centre's synthetic dataset (tfjs trainer, experiments without a data specification). */
  TFJS_EXAMPLES: envInt(1, 10_000_000).default(512),
  /** Examples the noop trainer claims per task. */
  NOOP_EXAMPLES: envInt(1, 1_000_000_000).default(100),
  /** How long the noop trainer pretends to train (ms), to play a slow centre. */
  NOOP_DELAY_MS: envInt(0, 3_600_000, 'milliseconds').default(0),
  /** Datasets held at this centre, comma-separated; announced in heartbeats. */
  DATASET_IDS: z.string().default(''),
  HEARTBEAT_INTERVAL_MS: envInt(500, 3_600_000, 'milliseconds').default(5_000),
  /** How long a task may run without finishing before it is redelivered (the agent keeps it alive while working). */
  TASK_ACK_WAIT_MS: envInt(1_000, 3_600_000, 'milliseconds').default(30_000),
  /**
   * Where this centre checks its grants before every task: `embedded` (the ledger folder LEDGER_DIR, read only) or
   * `fabric` (FABRIC_CONNECTION); `none` trains without asking (a centre with no dataset on the ledger).
   */
  LEDGER: z.enum(['none', 'embedded', 'fabric']).default('none'),
  LEDGER_DIR: z.string().min(1).default('.data/ledger'),
  IDENTITY_DIR: z.string().min(1).default('.data/identities'),
  FABRIC_CONNECTION: z.string().min(1).default('.data/fabric/connection.json'),
  /** The centre's own identity (<org>/<user>) it reads the ledger as. */
  CENTRE_IDENTITY: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'expected <org>/<user>').optional(),
  /** This centre's dataset as registered on the ledger: the grants are on it. */
  LEDGER_DATASET_ID: z.string().regex(LEDGER_ID, 'expected a dataset id').optional(),
});
export type CentreAgentConfig = z.infer<typeof centreAgentConfig>;

/** Deliveries of a task before it is dead-lettered; on the last one a failure is reported to the coordinator. */
export const TASK_MAX_DELIVER = 5;

export const centreAgentService = defineService({
  name: 'centre-agent',
  module: CentreAgentModule,
  config: centreAgentConfig,
  blobStore: true,
  // On NATS the agent is its centre, and may touch no stream: it uses what the platform's services provisioned.
  principal: (config) => centrePrincipal(config.CENTRE_ID),
  provisionStreams: false,
  consumers: (config) => [
    {
      handler: 'training-task',
      stream: streams.FL_TASKS.name,
      durable: `centre-${config.CENTRE_ID}`,
      filterSubjects: [subjects.tasksForCentre(config.CENTRE_ID)],
      ackWaitMs: config.TASK_ACK_WAIT_MS,
      maxDeliver: TASK_MAX_DELIVER,
      backoffMs: [1_000, 5_000, 15_000],
    },
  ],
});
