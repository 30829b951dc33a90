import { Inject, Injectable } from '@nestjs/common';
import type { ExperimentState } from '@fedledger/contracts';
import { SERVICE_CONFIG } from '@fedledger/service-kit';
import type { RoundCoordinatorConfig } from '../service';
import { ExperimentExists, ExperimentNotFound, ExperimentStore } from './experiment.store';
import { parseExperimentPlan } from './experiment-plan';
import { EXPERIMENT_STORE, RoundEngine } from './round-engine';
import { abort, InvalidTransition, newExperiment, pause, resume, start } from './transitions';
import type { Caller } from '../auth/signed-request.guard';
import { CentreRegistry } from '../centres/centre-registry';
import { GrantGate } from '../grants/grant-gate';

/** A caller that may not do what it asked (403). */
export class NotAllowed extends Error {
  override readonly name = 'NotAllowed';
}

const who = (c: { mspId: string; user: string }) => `${c.mspId}/${c.user}`;

/**
 * Experiment control use cases, for REST and the CLI. Developers and organisation admins create experiments; an
 * experiment is controlled by its creator or an admin of the creator's organisation.
 */
@Injectable()
export class ExperimentService {
  constructor(
    @Inject(EXPERIMENT_STORE) private readonly store: ExperimentStore,
    private readonly engine: RoundEngine,
    private readonly centres: CentreRegistry,
    @Inject(SERVICE_CONFIG) private readonly config: RoundCoordinatorConfig,
    private readonly grants: GrantGate,
  ) {}

  async create(input: unknown, caller: Caller): Promise<ExperimentState> {
    if (caller.type !== 'admin' && caller.role !== 'developer') {
      throw new NotAllowed(`${who(caller)} (${caller.role ? `role ${caller.role}` : 'no role'}) may not create experiments: developers and organisation admins may`);
    }
    const plan = parseExperimentPlan(input);
    const created = await this.store.create(newExperiment(plan, Date.now(), { org: caller.org, mspId: caller.mspId, user: caller.user }));
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

  /**
   * Starts once at least minAvailableCentres of the experiment's centres are sending heartbeats,
   * waiting up to CENTRES_WAIT_MS for them (as Flower waits for min_available_clients).
   */
  /** The experiment, if `caller` may control it. */
  private async controlled(id: string, caller: Caller, action: string): Promise<ExperimentState> {
    const s = await this.get(id);
    const owner = s.createdBy;
    if (owner && !(caller.org === owner.org && (caller.user === owner.user || caller.type === 'admin'))) {
      throw new NotAllowed(`experiment ${id} was created by ${who(owner)}; ${who(caller)} may not ${action} it (its creator or an admin of ${owner.mspId} may)`);
    }
    return s;
  }

  async start(id: string, caller: Caller): Promise<ExperimentState> {
    const s = await this.controlled(id, caller, 'start');
    const deadline = Date.now() + this.config.CENTRES_WAIT_MS;
    let available = this.centres.available(s.plan.centres);
    while (s.status === 'created' && available.length < s.plan.minAvailableCentres && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      available = this.centres.available(s.plan.centres);
    }
    if (s.status === 'created' && available.length < s.plan.minAvailableCentres) {
      const missing = s.plan.centres.filter((c) => !available.includes(c));
      throw new InvalidTransition(
        `experiment ${id} needs ${s.plan.minAvailableCentres} available centres to start, ${available.length} are (no heartbeat in the last ${CentreRegistry.AVAILABLE_WITHIN_MS / 1000} s from ${missing.join(', ')})`,
      );
    }
    let granted: Record<string, string> | undefined;
    if (s.status === 'created') {
      const { refused, datasets } = await this.grants.atStart(s.plan);
      if (refused.length > 0) {
        throw new InvalidTransition(`experiment ${id} is not started: no live grant lets passport ${s.plan.passportId} train on the data of ${refused.join(', ')}`);
      }
      granted = datasets;
    }
    return (await this.engine.apply(id, (st) => start(st, Date.now(), granted))).after;
  }

  async pause(id: string, caller: Caller): Promise<ExperimentState> {
    await this.controlled(id, caller, 'pause');
    return (await this.engine.apply(id, (s) => pause(s))).after;
  }

  async resume(id: string, caller: Caller): Promise<ExperimentState> {
    await this.controlled(id, caller, 'resume');
    return (await this.engine.apply(id, (s) => resume(s, Date.now()))).after;
  }

  async abort(id: string, caller: Caller, reason: string): Promise<ExperimentState> {
    await this.controlled(id, caller, 'abort');
    return (await this.engine.apply(id, (s) => abort(s, reason, Date.now()))).after;
  }
}
