import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ExperimentPlan, ExperimentState } from '@fedledger/contracts';
import type { Identity } from '@fedledger/identity';
import { checkGrant, LedgerError, type GrantAnswer, type LedgerGateway } from '@fedledger/ledger';
import { openServiceLedger } from '@fedledger/ledger-host';
import { SERVICE_CONFIG } from '@fedledger/service-kit';
import { CentreRegistry } from '../centres/centre-registry';
import type { RoundCoordinatorConfig } from '../service';

/**
 * The coordinator's side of the grants. An experiment with a passport starts only if every one of its centres
 * announces a dataset holding a live grant for that passport; the dataset found is kept in the experiment's state,
 * and before every task (each round, each evaluation) the grant on it is asked again, so a centre whose grant was
 * revoked or expired is no longer sent tasks. The centres check too, before every task, as their own identity:
 * the coordinator's check is the platform keeping its word, the centre's is the one that does not need trusting it.
 */
@Injectable()
export class GrantGate implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(GrantGate.name);
  private ledger: LedgerGateway | undefined;
  private reader: Identity | undefined;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: RoundCoordinatorConfig,
    private readonly centres: CentreRegistry,
  ) {}

  onModuleInit(): void {
    const c = this.config;
    if (c.LEDGER === 'none') return;
    ({ ledger: this.ledger, identity: this.reader } = openServiceLedger('round-coordinator', { ...c, LEDGER: c.LEDGER }, { variable: 'COORDINATOR_IDENTITY', value: c.COORDINATOR_IDENTITY }));
    this.logger.log(`experiments with a passport start only when every centre's dataset holds a live grant, and tasks go only to centres whose grant is still live (${c.LEDGER} ledger)`);
  }

  async onModuleDestroy(): Promise<void> {
    await this.ledger?.close();
  }

  /**
   * At start: the plan's centres without a live grant for its passport, each with the reason, and the granted
   * dataset of the others. Nothing is checked (no refusal, no datasets) without a ledger or a passport.
   */
  async atStart(plan: ExperimentPlan): Promise<{ refused: string[]; datasets?: Record<string, string> }> {
    if (!this.ledger || !this.reader || !plan.passportId) return { refused: [] };
    const refused: string[] = [];
    const datasets: Record<string, string> = {};
    for (const centre of plan.centres) {
      const announced = this.centres.datasetsOf(centre);
      if (announced.length === 0) {
        refused.push(`${centre} (announces no dataset)`);
        continue;
      }
      const reasons: string[] = [];
      for (const dataset of announced) {
        // At start nothing is sent yet: a ledger that cannot be asked refuses the start (the reason says why).
        const answer = await this.check(dataset, plan.passportId).catch((err: Error): GrantAnswer => ({ live: false, reason: `the ledger could not be asked about dataset ${dataset}: ${err.message}` }));
        if (answer.live) {
          datasets[centre] = dataset;
          break;
        }
        reasons.push(answer.reason);
      }
      if (!datasets[centre]) refused.push(`${centre} (${reasons.join('; ')})`);
    }
    return { refused, datasets };
  }

  /**
   * Before sending tasks: those of `centres` whose grant (on the dataset recorded at start) is no longer live,
   * with the ledger's reason. A ledger that cannot be reached refuses no one (logged): the centres check themselves.
   */
  async revoked(s: ExperimentState, centres: readonly string[]): Promise<Record<string, string>> {
    const passportId = s.plan.passportId;
    if (!this.ledger || !this.reader || !passportId || !s.grantedDatasets) return {};
    const refused: Record<string, string> = {};
    for (const centre of centres) {
      const dataset = s.grantedDatasets[centre];
      if (!dataset) continue;
      try {
        const answer = await this.check(dataset, passportId);
        if (!answer.live) refused[centre] = `no live grant lets passport ${passportId} train on dataset ${dataset} (checked by the coordinator): ${answer.reason}`;
      } catch (err) {
        this.logger.warn(`experiment ${s.plan.id}: could not check the grant of ${centre} on dataset ${dataset} (${(err as Error).message}); its task is sent, the centre checks it itself`);
      }
    }
    return refused;
  }

  /** The ledger's answer; a chaincode refusal (no such dataset) is a refusal, an unreachable ledger throws. */
  private async check(dataset: string, passportId: string): Promise<GrantAnswer> {
    try {
      return await checkGrant(this.ledger!, this.reader!, dataset, passportId, 'training');
    } catch (err) {
      if (err instanceof LedgerError && err.code === 'ENDORSEMENT_FAILURE') return { live: false, reason: err.message };
      throw err;
    }
  }
}
