import { Logger, Module } from '@nestjs/common';
import { SERVICE_CONFIG } from '@fedledger/service-kit';
import { NoopTrainer, TfjsTrainer, type Trainer } from '@fedledger/training';
import { GrantCheck } from './grants/grant-check';
import { TrainingTaskHandler } from './handlers/training-task.handler';
import { HeartbeatPublisher } from './heartbeat.publisher';
import type { CentreAgentConfig } from './service';
import { RunTrainingTask, TRAINER } from './usecases/run-training-task/run-training-task.usecase';

/** Pulls its tasks outbound, trains locally, sends back weights only; heartbeats its capabilities. */
@Module({
  controllers: [TrainingTaskHandler],
  providers: [
    GrantCheck,
    RunTrainingTask,
    HeartbeatPublisher,
    {
      provide: TRAINER,
      inject: [SERVICE_CONFIG],
      useFactory: (config: CentreAgentConfig): Trainer => {
        switch (config.TRAINER) {
          case 'noop':
            return new NoopTrainer(config.NOOP_EXAMPLES, config.NOOP_DELAY_MS);
          case 'tfjs': {
            const logger = new Logger('TfjsTrainer');
            return new TfjsTrainer({
              syntheticExamples: config.TFJS_EXAMPLES,
              onDataError: config.DATA_ON_ERROR,
              ...(config.DATA_DIR ? { dataDir: config.DATA_DIR } : {}),
              log: (line) => logger.log(line),
            });
          }
        }
      },
    },
  ],
})
export class CentreAgentModule {}
