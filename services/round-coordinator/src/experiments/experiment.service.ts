import { Inject, Injectable } from '@nestjs/common';
import type { ExperimentState } from '@fedledger/contracts';
import { ExperimentExists, ExperimentNotFound, ExperimentStore } from './experiment.store';
import { parseExperimentPlan } from './experiment-plan';
import { EXPERIMENT_STORE, RoundEngine } from './round-engine';
import { abort, newExperiment, pause, resume, start } from './transitions';

/** Experiment control use cases, for REST and the CLI. */
@Injectable()
export class ExperimentService {
  constructor(
    @Inject(EXPERIMENT_STORE) private readonly store: ExperimentStore,
    private readonly engine: RoundEngine,
  ) {}

  async create(input: unknown): Promise<ExperimentState> {
    const plan = parseExperimentPlan(input);
    const created = await this.store.create(newExperiment(plan, Date.now()));
    if (!created) throw new ExperimentExists(plan.id);
    return created.value;
  }

  async get(id: string): Promise<ExperimentState> {
    const s = await this.store.get(id);
    if (!s) throw new ExperimentNotFound(id);
    return s.value;
  }

  async list(): Promise<{ id: string; status: string; round?: number }[]> {
    const out: { id: string; status: string; round?: number }[] = [];
    for (const id of await this.store.ids()) {
      const s = await this.store.get(id);
      if (s) out.push({ id, status: s.value.status, ...(s.value.current ? { round: s.value.current.round } : {}) });
    }
    return out;
  }

  async start(id: string): Promise<ExperimentState> {
    return (await this.engine.apply(id, (s) => start(s, Date.now()))).after;
  }

  async pause(id: string): Promise<ExperimentState> {
    return (await this.engine.apply(id, (s) => pause(s))).after;
  }

  async resume(id: string): Promise<ExperimentState> {
    return (await this.engine.apply(id, (s) => resume(s, Date.now()))).after;
  }

  async abort(id: string, reason: string): Promise<ExperimentState> {
    return (await this.engine.apply(id, (s) => abort(s, reason, Date.now()))).after;
  }
}
