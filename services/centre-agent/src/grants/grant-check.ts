import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ConfigError } from '@fedledger/config';
import type { TrainingTask } from '@fedledger/contracts';
import { signUpdate, type Identity, type UpdateSigningFields } from '@fedledger/identity';
import { checkGrant, LedgerError, type GrantAnswer, type LedgerGateway } from '@fedledger/ledger';
import { openServiceLedger } from '@fedledger/ledger-host';
import { PoisonMessageError } from '@fedledger/messaging';
import { SERVICE_CONFIG } from '@fedledger/service-kit';
import type { CentreAgentConfig } from '../service';

/**
 * The centre's identity on the ledger: it signs the centre's updates, and checks its data-use grants before every task: it asks the ledger itself (not trusting the
 * coordinator) whether a live grant lets the task's passport train on this centre's dataset. No grant, or one
 * expired or revoked: the task is refused with the ledger's reason (reported to the coordinator) and nothing is
 * trained. A grant revoked mid-experiment stops the centre from its next task on.
 */
@Injectable()
export class GrantCheck implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(GrantCheck.name);
  private ledger: LedgerGateway | undefined;
  private me: Identity | undefined;

  constructor(@Inject(SERVICE_CONFIG) private readonly config: CentreAgentConfig) {}

  onModuleInit(): void {
    const c = this.config;
    if (c.LEDGER === 'none') {
      this.logger.warn('LEDGER=none: tasks are run without checking a grant on the ledger');
      return;
    }
    const missing = [
      ...(c.CENTRE_IDENTITY ? [] : [{ variable: 'CENTRE_IDENTITY', reason: `required with LEDGER=${c.LEDGER}: the identity the centre reads its grants as` }]),
      ...(c.LEDGER_DATASET_ID ? [] : [{ variable: 'LEDGER_DATASET_ID', reason: `required with LEDGER=${c.LEDGER}: the dataset whose grants the centre checks` }]),
    ];
    if (missing.length) throw new ConfigError('centre-agent', missing);
    ({ ledger: this.ledger, identity: this.me } = openServiceLedger('centre-agent', { ...c, LEDGER: c.LEDGER }, { variable: 'CENTRE_IDENTITY', value: c.CENTRE_IDENTITY! }));
    this.logger.log(`checking the grants of dataset ${c.LEDGER_DATASET_ID} on the ${c.LEDGER} ledger before every task, as ${this.me!.mspId}/${this.me!.user}`);
  }

  async onModuleDestroy(): Promise<void> {
    await this.ledger?.close();
  }

  /**
   * The update's signature fields, made with the centre's own key (its X.509 identity), when it has one: the
   * aggregator checks them against the centre's organisation before it counts the update.
   */
  signature(f: UpdateSigningFields): { signature?: Uint8Array; signerCertFingerprint?: string; signerCertPem?: string } {
    if (!this.me) return {};
    const s = signUpdate(this.me, f);
    return { signature: s.signature, signerCertFingerprint: s.fingerprint, signerCertPem: s.certPem };
  }

  /** Throws PoisonMessageError (the task is refused, not retried) unless a live grant allows it. */
  async assertGranted(task: TrainingTask, where: string): Promise<void> {
    if (!this.ledger || !this.me) return;
    const dataset = this.config.LEDGER_DATASET_ID!;
    if (!task.passportId) throw new PoisonMessageError(`${where} names no AI passport: nothing on the ledger lets it use dataset ${dataset}`);
    let answer: GrantAnswer;
    try {
      answer = await checkGrant(this.ledger, this.me, dataset, task.passportId, 'training');
    } catch (err) {
      // No such dataset on the ledger is final; an unreachable ledger is retried (the task is redelivered).
      if (err instanceof LedgerError && err.code === 'ENDORSEMENT_FAILURE') throw new PoisonMessageError(`${where}: the ledger refused the grant check: ${err.message}`);
      throw err;
    }
    if (!answer.live) throw new PoisonMessageError(`${where}: no live grant lets passport ${task.passportId} train on dataset ${dataset}: ${answer.reason}`);
  }
}
