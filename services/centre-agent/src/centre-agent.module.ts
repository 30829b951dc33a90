import { Module } from '@nestjs/common';
import { SERVICE_CONFIG } from '@fedledger/service-kit';
import { NoopTrainer, TfjsTrainer, type Trainer } from '@fedledger/training';
import { TrainingTaskHandler } from './handlers/training-task.handler';
import { HeartbeatPublisher } from './heartbeat.publisher';
import type { CentreAgentConfig } from './service';
import { RunTrainingTask, TRAINER } from './usecases/run-training-task/run-training-task.usecase';

/** Pulls its tasks outbound, trains locally, sends back weights only; heartbeats its capabilities. */
@Module({
  controllers: [TrainingTaskHandler],
  providers: [
    RunTrainingTask,
    HeartbeatPublisher,
    {
      provide: TRAINER,
      inject: [SERVICE_CONFIG],
      useFactory: (config: CentreAgentConfig): Trainer => {
        switch (config.TRAINER) {
          case 'noop':
            return new NoopTrainer(config.NOOP_EXAMPLES, config.NOOP_DELAY_MS);
          case 'tfjs':
            return new TfjsTrainer(config.TFJS_EXAMPLES);
        }
      },
    },
  ],
})
export class CentreAgentModule {}
