import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ExperimentCompleted, RoundCompleted } from '@fedledger/contracts';
import { JetStreamEvent, protobufCodec } from '@fedledger/messaging';
import { RoundRecorder } from '../rounds/round-recorder';

@Controller()
export class RoundEventsHandler {
  constructor(private readonly recorder: RoundRecorder) {}

  @JetStreamEvent('round-completed', protobufCodec(RoundCompleted, 'fedledger.fl.v1.RoundCompleted'))
  async roundCompleted(@Payload() event: RoundCompleted): Promise<void> {
    await this.recorder.onRoundCompleted(event);
  }

  @JetStreamEvent('experiment-completed', protobufCodec(ExperimentCompleted, 'fedledger.fl.v1.ExperimentCompleted'))
  async experimentCompleted(@Payload() event: ExperimentCompleted): Promise<void> {
    await this.recorder.onExperimentCompleted(event);
  }
}
