import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ExperimentPlan } from '@fedledger/contracts';
import type { Identity } from '@fedledger/identity';
import { LedgerError, type LedgerGateway } from '@fedledger/ledger';
import { openServiceLedger } from '@fedledger/ledger-host';
import { SERVICE_CONFIG } from '@fedledger/service-kit';
import { CentreRegistry } from '../centres/centre-registry';
import type { RoundCoordinatorConfig } from '../service';

/**
 * The coordinator's side of the grants: an experiment with a passport starts only if every one of its centres
 * announces a dataset holding a live grant for that passport (the centres check again before every task, so a grant
 * revoked later stops them there).
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
    this.logger.log(`experiments with a passport start only when every centre's dataset holds a live grant (${c.LEDGER} ledger)`);
  }

  async onModuleDestroy(): Promise<void> {
    await this.ledger?.close();
  }

  /** The plan's centres without a live grant for its passport, each with the reason; [] when all have one or nothing is checked. */
  async ungranted(plan: ExperimentPlan): Promise<string[]> {
    if (!this.ledger || !this.reader || !plan.passportId) return [];
    const refused: string[] = [];
    for (const centre of plan.centres) {
      const datasets = this.centres.datasetsOf(centre);
      if (datasets.length === 0) {
        refused.push(`${centre} (announces no dataset)`);
        continue;
      }
      const reasons: string[] = [];
      let live = false;
      for (const dataset of datasets) {
        try {
          const answer = JSON.parse(await this.ledger.evaluate(this.reader, 'dataset:CheckGrant', [dataset, plan.passportId, 'training'])) as { live: boolean; reason: string };
          if (answer.live) live = true;
          else reasons.push(answer.reason);
        } catch (err) {
          if (!(err instanceof LedgerError)) throw err;
          reasons.push(err.message);
        }
        if (live) break;
      }
      if (!live) refused.push(`${centre} (${reasons.join('; ')})`);
    }
    return refused;
  }
}
