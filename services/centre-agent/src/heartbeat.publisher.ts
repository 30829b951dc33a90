import { cpus, freemem } from 'node:os';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CentreHeartbeat, ComputeDevice, subjects } from '@fedledger/contracts';
import { JetStreamConnection, JetStreamPublisher } from '@fedledger/messaging';
import { SERVICE_CONFIG, SERVICE_IDENTITY, type ServiceIdentity } from '@fedledger/service-kit';
import type { CentreAgentConfig } from './service';
import { RunTrainingTask } from './usecases/run-training-task/run-training-task.usecase';

/** Tells the coordinator, every HEARTBEAT_INTERVAL_MS, that this centre is alive and what it can do. */
@Injectable()
export class HeartbeatPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('HeartbeatPublisher');
  private readonly publisher: JetStreamPublisher;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private stopped = false;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: CentreAgentConfig,
    @Inject(SERVICE_IDENTITY) private readonly identity: ServiceIdentity,
    private readonly tasks: RunTrainingTask,
    connection: JetStreamConnection,
  ) {
    this.publisher = new JetStreamPublisher(connection);
  }

  onApplicationBootstrap(): void {
    void this.loop();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Every HEARTBEAT_INTERVAL_MS; every second while heartbeats fail (e.g. before the coordinator made the stream). */
  private async loop(): Promise<void> {
    if (this.stopped) return;
    await this.beat();
    if (!this.stopped) this.timer = setTimeout(() => void this.loop(), this.failing ? Math.min(1_000, this.config.HEARTBEAT_INTERVAL_MS) : this.config.HEARTBEAT_INTERVAL_MS);
  }

  private async beat(): Promise<void> {
    const sentAt = Date.now();
    const heartbeat = CentreHeartbeat.create({
      centreId: this.config.CENTRE_ID,
      agentVersion: this.identity.version,
      capabilities: {
        backend: this.config.TRAINER,
        device: ComputeDevice.COMPUTE_DEVICE_CPU,
        cpuCores: cpus().length,
        freeMemoryBytes: freemem(),
        datasetIds: [...new Set([...this.config.DATASET_IDS.split(',').map((s) => s.trim()), this.config.LEDGER_DATASET_ID ?? ''].filter(Boolean))],
      },
      activeTaskId: this.tasks.currentTask ?? '',
      sentAtUnixMs: sentAt,
    });
    try {
      await this.publisher.publish(subjects.heartbeat(this.config.CENTRE_ID), CentreHeartbeat.encode(heartbeat).finish(), {
        msgId: `heartbeat:${this.config.CENTRE_ID}:${sentAt}`,
      });
      if (this.failing) this.logger.log('heartbeats are getting through again');
      this.failing = false;
    } catch (err) {
      // The coordinator provisions the heartbeat stream; until it runs, heartbeats have nowhere to go.
      if (!this.failing) this.logger.warn(`heartbeat not delivered: ${(err as Error).message}`);
      this.failing = true;
    }
  }
}
