import { Controller, Get, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { hostname } from 'node:os';
import { JetStreamConnection } from '@fedledger/messaging';

/** What a service says about itself, over HTTP GET /health and over NATS (`subjects.health(service)`). */
export interface HealthReport {
  status: 'ok' | 'degraded';
  service: string;
  instance: string;
  version: string;
  pid: number;
  uptimeSeconds: number;
  nats: { connected: boolean; server?: string };
  http?: string;
  /** GET /health on HEALTH_PORT, for a service without a REST API that was asked for one. */
  healthUrl?: string;
  /** What the service's own checks say (e.g. the indexer's lag); one with `ok: false` makes the status degraded. */
  checks?: Record<string, HealthCheckResult>;
}

export type HealthCheckResult = { ok: boolean } & Record<string, unknown>;

export const SERVICE_IDENTITY = Symbol('SERVICE_IDENTITY');
export interface ServiceIdentity {
  name: string;
  version: string;
  instance: string;
  startedAt: number;
  httpUrl?: string;
  healthUrl?: string;
}

export function newIdentity(name: string, version: string): ServiceIdentity {
  return { name, version, instance: `${hostname()}-${process.pid}`, startedAt: Date.now() };
}

@Injectable()
export class ServiceHealth {
  private readonly checks = new Map<string, () => HealthCheckResult>();

  constructor(
    @Inject(SERVICE_IDENTITY) private readonly identity: ServiceIdentity,
    private readonly connection: JetStreamConnection,
  ) {}

  /** Adds a check of the service's own to every report (a second one of the same name replaces the first). */
  addCheck(name: string, check: () => HealthCheckResult): void {
    this.checks.set(name, check);
  }

  report(): HealthReport {
    const connected = this.connection.connected;
    const checks = Object.fromEntries([...this.checks].map(([name, check]) => [name, check()]));
    const ok = connected && Object.values(checks).every((c) => c.ok);
    return {
      status: ok ? 'ok' : 'degraded',
      service: this.identity.name,
      instance: this.identity.instance,
      version: this.identity.version,
      pid: process.pid,
      uptimeSeconds: Math.round((Date.now() - this.identity.startedAt) / 1000),
      nats: { connected, ...(connected ? { server: this.connection.nc.getServer() } : {}) },
      ...(this.identity.httpUrl ? { http: this.identity.httpUrl } : {}),
      ...(this.identity.healthUrl ? { healthUrl: this.identity.healthUrl } : {}),
      ...(this.checks.size ? { checks } : {}),
    };
  }
}

@Controller()
export class HealthController {
  constructor(private readonly health: ServiceHealth) {}

  /** 200 when the service can do its work, 503 (with the same body) when NATS is unreachable. */
  @Get('health')
  get(): HealthReport {
    const report = this.health.report();
    if (report.status !== 'ok') throw new HttpException(report, HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }
}
