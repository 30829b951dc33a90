import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { CentreHeartbeat } from '@fedledger/contracts';
import { JetStreamContext, JetStreamEvent, protobufCodec } from '@fedledger/messaging';
import { assertSentBy } from './sender';
import { CentreRegistry } from '../centres/centre-registry';

@Controller()
export class HeartbeatHandler {
  constructor(private readonly centres: CentreRegistry) {}

  @JetStreamEvent('centre-heartbeat', protobufCodec(CentreHeartbeat, 'fedledger.fl.v1.CentreHeartbeat'))
  heartbeat(@Payload() h: CentreHeartbeat, @Ctx() ctx: JetStreamContext): void {
    assertSentBy(ctx.subject, h.centreId, 'heartbeat');
    this.centres.record(h, Number(ctx.message.info.timestampNanos / 1_000_000));
  }
}
