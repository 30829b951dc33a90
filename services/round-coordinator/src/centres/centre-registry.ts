import { Injectable } from '@nestjs/common';
import type { CentreHeartbeat } from '@fedledger/contracts';

export interface CentreStatus {
  centreId: string;
  lastSeenMs: number;
  agentVersion: string;
  backend: string;
  cpuCores: number;
  freeMemoryBytes: number;
  datasetIds: string[];
  activeTaskId: string;
}

/** Centres as their heartbeats describe them; a centre is available while its heartbeats keep coming. */
@Injectable()
export class CentreRegistry {
  private readonly centres = new Map<string, CentreStatus>();

  /** A centre is available if it was heard from within this window. */
  static readonly AVAILABLE_WITHIN_MS = 30_000;

  record(h: CentreHeartbeat, receivedAtMs: number): void {
    const previous = this.centres.get(h.centreId);
    if (previous && previous.lastSeenMs > receivedAtMs) return; // an older heartbeat, redelivered
    this.centres.set(h.centreId, {
      centreId: h.centreId,
      lastSeenMs: receivedAtMs,
      agentVersion: h.agentVersion,
      backend: h.capabilities?.backend ?? '',
      cpuCores: h.capabilities?.cpuCores ?? 0,
      freeMemoryBytes: h.capabilities?.freeMemoryBytes ?? 0,
      datasetIds: h.capabilities?.datasetIds ?? [],
      activeTaskId: h.activeTaskId,
    });
  }

  list(now = Date.now()): (CentreStatus & { available: boolean })[] {
    return [...this.centres.values()].sort((a, b) => (a.centreId < b.centreId ? -1 : 1)).map((c) => ({ ...c, available: now - c.lastSeenMs <= CentreRegistry.AVAILABLE_WITHIN_MS }));
  }

  /** The datasets a centre announced in its last heartbeat (its ledger dataset among them). */
  datasetsOf(centreId: string): string[] {
    return this.centres.get(centreId)?.datasetIds ?? [];
  }

  available(centres: readonly string[], now = Date.now()): string[] {
    return centres.filter((id) => {
      const c = this.centres.get(id);
      return c !== undefined && now - c.lastSeenMs <= CentreRegistry.AVAILABLE_WITHIN_MS;
    });
  }
}
