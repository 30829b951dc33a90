import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';

const NANOS_PER_MS = 1_000_000;

/** A stream declared in code; provisioned (created or updated) when a service starts. */
export interface StreamSpec {
  name: string;
  subjects: readonly string[];
  /** `workqueue` removes a message once acked; `limits` keeps it for replay. Default `limits`. */
  retention?: 'limits' | 'workqueue' | 'interest';
  storage?: 'file' | 'memory';
  /** Drop messages older than this (ms). 0 = keep forever. */
  maxAgeMs?: number;
  maxBytes?: number;
  /** Window within which a repeated Nats-Msg-Id is dropped as a duplicate. Default 2 minutes. */
  duplicateWindowMs?: number;
  replicas?: number;
  /** Allow purging by subject (needed for blob deletion). */
  allowRollup?: boolean;
  /** Enable the direct-get API (fast reads by subject/sequence). */
  allowDirect?: boolean;
  maxMsgsPerSubject?: number;
}

/** A durable pull consumer bound to one handler pattern of a NestJS service. */
export interface ConsumerSpec {
  /** The `@EventPattern` / `@JetStreamEvent` name of the handler that processes these messages. */
  handler: string;
  stream: string;
  durable: string;
  filterSubjects: readonly string[];
  /** Deliveries before a message is dead-lettered. Finite, never unlimited. Default 5. */
  maxDeliver?: number;
  /** How long a delivery may stay unacknowledged before the server redelivers it. Default 30 s. */
  ackWaitMs?: number;
  /** Delays before redelivery after a failed attempt, one per attempt; the last repeats. Default 1 s, 5 s, 30 s. */
  backoffMs?: number[];
  /** Messages processed at once by this process. Default 1 (in order). */
  concurrency?: number;
  /** Where a new durable starts: everything, only new messages, or the last message of each subject. Default all. */
  deliverPolicy?: 'all' | 'new' | 'last-per-subject';
}

export function streamConfig(spec: StreamSpec): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    subjects: [...spec.subjects],
    retention:
      spec.retention === 'workqueue'
        ? RetentionPolicy.Workqueue
        : spec.retention === 'interest'
          ? RetentionPolicy.Interest
          : RetentionPolicy.Limits,
    storage: spec.storage === 'memory' ? StorageType.Memory : StorageType.File,
    max_age: (spec.maxAgeMs ?? 0) * NANOS_PER_MS,
    max_bytes: spec.maxBytes ?? -1,
    duplicate_window: (spec.duplicateWindowMs ?? 120_000) * NANOS_PER_MS,
    num_replicas: spec.replicas ?? 1,
    discard: DiscardPolicy.Old,
    allow_rollup_hdrs: spec.allowRollup ?? false,
    allow_direct: spec.allowDirect ?? false,
    max_msgs_per_subject: spec.maxMsgsPerSubject ?? -1,
    deny_delete: false,
    deny_purge: false,
  };
}

/** Creates the stream, or updates it in place when it exists with another config. Idempotent. */
export async function provisionStream(jsm: JetStreamManager, spec: StreamSpec, defaultReplicas = 1): Promise<void> {
  const config = streamConfig({ ...spec, replicas: spec.replicas ?? defaultReplicas });
  try {
    await jsm.streams.info(spec.name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.status === 404) {
      await jsm.streams.add(config).catch((e: Error) => {
        throw new Error(`cannot create stream ${spec.name} (${spec.subjects.join(', ')}): ${e.message}`);
      });
      return;
    }
    throw err;
  }
  await jsm.streams.update(spec.name, config).catch((e: Error) => {
    throw new Error(`cannot update stream ${spec.name} to the declared config: ${e.message}`);
  });
}

export const DEFAULT_BACKOFF_MS = [1_000, 5_000, 30_000];

export function resolvedConsumer(spec: ConsumerSpec): Required<ConsumerSpec> {
  const maxDeliver = spec.maxDeliver ?? 5;
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1) {
    throw new Error(`consumer ${spec.durable}: maxDeliver must be a positive integer (got ${maxDeliver}); unlimited redelivery is not allowed`);
  }
  return {
    maxDeliver,
    ackWaitMs: 30_000,
    backoffMs: DEFAULT_BACKOFF_MS,
    concurrency: 1,
    deliverPolicy: 'all',
    ...spec,
  };
}

/** The consumer's stream does not exist (yet): another service owns and provisions it. */
export class MissingStreamError extends Error {
  constructor(readonly stream: string, consumer: string) {
    super(`stream ${stream} does not exist yet (consumer ${consumer})`);
    this.name = 'MissingStreamError';
  }
}

/**
 * Creates or updates a durable pull consumer. Idempotent. Asks only consumer API subjects of this consumer, and
 * names a single filter in the subject (`$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>`), so that a principal
 * allowed only its own consumer and filter can provision it: the server checks the filter against the subject.
 * Throws MissingStreamError when the stream does not exist.
 */
export async function provisionConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  const c = resolvedConsumer(spec);
  const filters = c.filterSubjects.length === 1 ? { filter_subject: c.filterSubjects[0]! } : { filter_subjects: [...c.filterSubjects] };
  const config = {
    durable_name: c.durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: c.ackWaitMs * NANOS_PER_MS,
    max_deliver: c.maxDeliver,
    ...filters,
    deliver_policy: c.deliverPolicy === 'new' ? DeliverPolicy.New : c.deliverPolicy === 'last-per-subject' ? DeliverPolicy.LastPerSubject : DeliverPolicy.All,
    max_ack_pending: Math.max(1000, c.concurrency * 4),
  };
  const missingStream = (err: unknown) => err instanceof JetStreamApiError && err.code === 10059;
  try {
    await jsm.consumers.info(c.stream, c.durable);
  } catch (err) {
    if (missingStream(err)) throw new MissingStreamError(c.stream, c.durable);
    if (err instanceof JetStreamApiError && err.status === 404) {
      await jsm.consumers.add(c.stream, config).catch((e: Error) => {
        if (missingStream(e)) throw new MissingStreamError(c.stream, c.durable);
        throw new Error(`cannot create consumer ${c.durable} on stream ${c.stream}: ${e.message}`);
      });
      return;
    }
    throw new Error(`cannot read consumer ${c.durable} on stream ${c.stream}: ${(err as Error).message}`);
  }
  // deliver_policy cannot change on an existing consumer; the rest can.
  const { durable_name: _name, deliver_policy: _policy, ...mutable } = config;
  await jsm.consumers.update(c.stream, c.durable, mutable).catch((e: Error) => {
    throw new Error(`cannot update consumer ${c.durable} on stream ${c.stream}: ${e.message}`);
  });
}
