import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { ModelUpdate, RoundClose } from '@fedledger/contracts';
import { JetStreamContext, JetStreamEvent, protobufCodec } from '@fedledger/messaging';
import { RoundAggregationService } from '../rounds/round-aggregation.service';

@Controller()
export class AggregatorHandler {
  constructor(private readonly rounds: RoundAggregationService) {}

  /** Acked once the update's round is aggregated, or at once when it is rejected. */
  @JetStreamEvent('model-update', protobufCodec(ModelUpdate, 'fedledger.fl.v1.ModelUpdate'))
  async update(@Payload() update: ModelUpdate, @Ctx() ctx: JetStreamContext): Promise<void> {
    // The time the update reached the stream, not when it was (re)delivered, decides lateness.
    const storedAtMs = Number(ctx.message.info.timestampNanos / 1_000_000);
    await this.rounds.onUpdate(update, storedAtMs, ctx.subject, ctx.signal);
  }

  @JetStreamEvent('round-close', protobufCodec(RoundClose, 'fedledger.fl.v1.RoundClose'))
  async close(@Payload() cmd: RoundClose): Promise<void> {
    await this.rounds.onClose(cmd);
  }
}
