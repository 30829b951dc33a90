import { Injectable, Logger } from '@nestjs/common';
import { ExperimentOutcome, kvBuckets, type ExperimentCompleted, type ExperimentState, type RoundCompleted } from '@fedledger/contracts';
import { LedgerError } from '@fedledger/ledger';
import type { Passport, Round } from '@fedledger/ledger-host';
import { JetStreamConnection, jsonCodec, KvState, PoisonMessageError } from '@fedledger/messaging';
import { RegistryLedger } from '../ledger/registry-ledger';

const digestOf = (sha256Hex: string) => `sha256:${sha256Hex}`;

/**
 * Records federated training on the experiments' passports, as the registry's aggregator identity: every
 * `round.completed` becomes the next round of the passport named in the experiment's plan (participants with
 * their update digests and example counts, the aggregate digest, the aggregated metrics, chained to the round
 * before), and a successful `experiment.completed` records the final aggregate as the released artefact.
 * Redelivered events are recognised (the passport's last round already has this aggregate) and not recorded
 * twice. A refusal of the chaincode is final (dead-lettered with its reason); a busy or conflicting ledger is retried.
 */
@Injectable()
export class RoundRecorder {
  private readonly logger = new Logger(RoundRecorder.name);
  private experiments: KvState<ExperimentState> | undefined;

  constructor(
    private readonly ledger: RegistryLedger,
    private readonly connection: JetStreamConnection,
  ) {}

  async onRoundCompleted(e: RoundCompleted): Promise<void> {
    const passportId = await this.passportOf(e.experimentId);
    if (!passportId) return;
    if (!e.aggregate?.sha256) throw new PoisonMessageError(`round ${e.round} of experiment ${e.experimentId} names no aggregate`);
    const aggregateDigest = digestOf(e.aggregate.sha256);
    await this.refusalsAreFinal(`round ${e.round} of experiment ${e.experimentId} on passport ${passportId}`, async () => {
      const passport = await this.ledger.evaluate<Passport>('passport:Read', [passportId]);
      const last = await this.lastRound(passport);
      if (last?.aggregateDigest === aggregateDigest) {
        this.logger.log(`passport ${passportId}: round ${last.roundNumber} already holds experiment ${e.experimentId} round ${e.round}`);
        return;
      }
      const round = {
        roundNumber: passport.roundCount + 1,
        previousRoundDigest: passport.lastRoundDigest,
        participants: e.results.map((r) => ({ centre: r.centreId, updateDigest: digestOf(r.weights?.sha256 ?? ''), numExamples: r.numExamples })),
        aggregateDigest,
        metrics: e.aggregatedMetrics.filter((m) => Number.isFinite(m.value)).map((m) => ({ name: m.name, value: m.value, dataset: `${e.experimentId}/train` })),
      };
      const recorded = await this.ledger.submit<Round>('passport:AddRound', [passportId, JSON.stringify(round)]);
      this.logger.log(`passport ${passportId}: round ${recorded.roundNumber} recorded (experiment ${e.experimentId} round ${e.round}, ${round.participants.length} centres, digest ${recorded.roundDigest})`);
    });
  }

  async onExperimentCompleted(e: ExperimentCompleted): Promise<void> {
    if (e.outcome !== ExperimentOutcome.EXPERIMENT_OUTCOME_SUCCEEDED || !e.finalWeights?.sha256) return;
    const passportId = await this.passportOf(e.experimentId);
    if (!passportId) return;
    const artefact = digestOf(e.finalWeights.sha256);
    await this.refusalsAreFinal(`the final model of experiment ${e.experimentId} on passport ${passportId}`, async () => {
      const passport = await this.ledger.evaluate<Passport>('passport:Read', [passportId]);
      if (passport.artifactDigest === artefact) return;
      const last = await this.lastRound(passport);
      if (last?.aggregateDigest !== artefact) {
        // Its last round is still on its way through the rounds consumer: redelivered until it is on the ledger.
        throw new Error(`passport ${passportId}: the final model of experiment ${e.experimentId} waits for its last round (${e.roundsCompleted}) to be recorded`);
      }
      await this.ledger.submit('passport:RecordArtifact', [passportId, artefact]);
      this.logger.log(`passport ${passportId}: released model ${artefact} recorded (experiment ${e.experimentId}, ${e.roundsCompleted} rounds)`);
    });
  }

  private async lastRound(passport: Passport): Promise<Round | undefined> {
    return passport.roundCount > 0 ? this.ledger.evaluate<Round>('passport:ReadRound', [passport.id, String(passport.roundCount)]) : undefined;
  }

  /** The passport the experiment's plan names, if any. */
  private async passportOf(experimentId: string): Promise<string | undefined> {
    this.experiments ??= await KvState.open(this.connection, { bucket: kvBuckets.experiments, codec: jsonCodec<ExperimentState>('ExperimentState'), history: 10 });
    const state = await this.experiments.get(experimentId);
    if (!state) throw new PoisonMessageError(`experiment ${experimentId} is not in ${kvBuckets.experiments}: nothing says which passport it belongs to`);
    return state.value.plan.passportId;
  }

  private async refusalsAreFinal(what: string, record: () => Promise<void>): Promise<void> {
    try {
      await record();
    } catch (err) {
      // The chaincode said no (not authorised, no such passport, REVOKED...): retrying cannot change that.
      if (err instanceof LedgerError && err.code === 'ENDORSEMENT_FAILURE') throw new PoisonMessageError(`${what}: ${err.message}`);
      throw err;
    }
  }
}
