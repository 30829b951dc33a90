import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { TrainingTask } from '@fedledger/contracts';
import { JetStreamContext, JetStreamEvent, protobufCodec } from '@fedledger/messaging';
import { RunTrainingTask } from '../usecases/run-training-task/run-training-task.usecase';

export const trainingTaskCodec = protobufCodec(TrainingTask, 'fedledger.fl.v1.TrainingTask');

@Controller()
export class TrainingTaskHandler {
  constructor(private readonly runTrainingTask: RunTrainingTask) {}

  @JetStreamEvent('training-task', trainingTaskCodec)
  async handle(@Payload() task: TrainingTask, @Ctx() ctx: JetStreamContext): Promise<void> {
    await this.runTrainingTask.execute(task, ctx.deliveryCount, ctx.signal);
  }
}
