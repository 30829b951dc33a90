import { isSubjectToken, kvBuckets, type ExperimentState } from '@fedledger/contracts';
import { jsonCodec, KvState, type JetStreamConnection, type Versioned } from '@fedledger/messaging';

/** Experiments in JetStream KV, changed only by compare-and-set; the coordinator is the only writer. */
export class ExperimentStore {
  private constructor(private readonly kv: KvState<ExperimentState>) {}

  static async open(connection: JetStreamConnection): Promise<ExperimentStore> {
    return new ExperimentStore(await KvState.open(connection, { bucket: kvBuckets.experiments, codec: jsonCodec<ExperimentState>('ExperimentState'), history: 10, maxAttempts: 200 }));
  }

  /** An id no plan can have (and no KV key can be) names no experiment. */
  async get(id: string): Promise<Versioned<ExperimentState> | undefined> {
    return isSubjectToken(id) ? this.kv.get(id) : undefined;
  }

  create(state: ExperimentState): Promise<Versioned<ExperimentState> | undefined> {
    return this.kv.create(state.plan.id, state);
  }

  /** Applies a pure transition with compare-and-set; throw NoChange from it to leave the state alone. */
  async update(id: string, transition: (current: ExperimentState) => ExperimentState): Promise<Versioned<ExperimentState>> {
    if (!isSubjectToken(id)) throw new ExperimentNotFound(id);
    return this.kv.update(id, (current) => {
      if (!current) throw new ExperimentNotFound(id);
      return transition(current);
    });
  }

  ids(): Promise<string[]> {
    return this.kv.keys();
  }
}

export class ExperimentNotFound extends Error {
  constructor(readonly experimentId: string) {
    super(`experiment ${experimentId.length > 140 ? `${experimentId.slice(0, 140)}…` : experimentId} does not exist`);
    this.name = 'ExperimentNotFound';
  }
}

export class ExperimentExists extends Error {
  constructor(readonly experimentId: string) {
    super(`experiment ${experimentId} already exists`);
    this.name = 'ExperimentExists';
  }
}
