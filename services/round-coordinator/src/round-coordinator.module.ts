import { Module } from '@nestjs/common';
import { JetStreamConnection } from '@fedledger/messaging';
import { ExperimentService } from './experiments/experiment.service';
import { ExperimentStore } from './experiments/experiment.store';
import { EXPERIMENT_STORE, RoundEngine } from './experiments/round-engine';
import { CentreRegistry } from './centres/centre-registry';
import { GrantGate } from './grants/grant-gate';
import { SignedRequestGuard } from './auth/signed-request.guard';
import { HeartbeatHandler } from './handlers/heartbeat.handler';
import { RoundEventsHandler } from './handlers/round-events.handler';
import { CentresController } from './http/centres.controller';
import { ExperimentsController } from './http/experiments.controller';

/** Experiments, the round state machine (JetStream KV) and task dispatch. */
@Module({
  controllers: [ExperimentsController, CentresController, RoundEventsHandler, HeartbeatHandler],
  providers: [
    { provide: EXPERIMENT_STORE, inject: [JetStreamConnection], useFactory: (c: JetStreamConnection) => ExperimentStore.open(c) },
    RoundEngine,
    CentreRegistry,
    GrantGate,
    SignedRequestGuard,
    ExperimentService,
  ],
})
export class RoundCoordinatorModule {}
