import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { streams, subjects, type StrategyName } from '@fedledger/contracts';
import { encodeWeights } from '@fedledger/fl-core';
import { ensureTools, freePorts, natsComponent, serviceComponent, startComponent, type RunningComponent } from '@fedledger/local-stack';
import { BlobStore, JetStreamConnection } from '@fedledger/messaging';
import { CliError } from '../errors';
import { decodeEvent, describeEvent } from '../events/decode';
import type { Io } from '../io';
import { initialWeights } from './initial-weights';

export interface SimulationOptions {
  trainer: 'noop';
  centres: number;
  rounds: number;
  params: number;
  strategy: StrategyName;
  strategyParams: Record<string, number>;
  epochs: number;
  minFit: number;
  deadlineMs: number;
  json: boolean;
  keep: boolean;
}

/**
 * A whole federation on this machine: nats-server, the round-coordinator, the aggregator and one
 * centre-agent process per centre, all real; an experiment created through the coordinator's REST
 * API; its events printed as they happen (one JSON line each with --json). Exits 0 when the
 * experiment succeeds.
 */
export async function runSimulation(o: SimulationOptions, io: Io): Promise<number> {
  const progress = (s: string) => io.err(`[simulate] ${s}`);
  await ensureTools();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedledger-sim-'));
  const logs = path.join(dir, 'logs');
  const components: RunningComponent[] = [];
  let connection: JetStreamConnection | undefined;
  let succeeded = false;
  try {
    const [natsPort, monitorPort, httpPort] = await freePorts(3);
    const nats = await startComponent(
      natsComponent({ port: natsPort!, monitorPort: monitorPort!, storeDir: path.join(dir, 'nats'), configFile: path.join(dir, 'nats.conf'), logFile: path.join(logs, 'nats.log') }),
      'attached',
    );
    components.push(nats);
    const natsUrl = nats.spec.url;
    progress(`nats-server ready on ${natsUrl}; starting the coordinator, the aggregator and ${o.centres} centre-agents (logs in ${logs})`);

    const env = { LOG_LEVEL: 'warn' };
    const coordinator = serviceComponent({ service: 'round-coordinator', natsUrl, httpPort: httpPort!, env, logFile: path.join(logs, 'round-coordinator.log') });
    const aggregator = serviceComponent({ service: 'aggregator', natsUrl, env: { ...env, LOG_LEVEL: 'info' }, logFile: path.join(logs, 'aggregator.log') });
    const started = Date.now();
    components.push(...(await Promise.all([startComponent(coordinator, 'attached'), startComponent(aggregator, 'attached')])));
    const centres = Array.from({ length: o.centres }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
    components.push(
      ...(await Promise.all(
        centres.map((id) =>
          startComponent(
            serviceComponent({
              service: 'centre-agent',
              name: `centre-agent ${id}`,
              natsUrl,
              env: { ...env, LOG_LEVEL: 'info', CENTRE_ID: id, TRAINER: o.trainer },
              logFile: path.join(logs, `centre-${id}.log`),
            }),
            'attached',
          ),
        ),
      )),
    );
    progress(`${components.length - 1} services ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    connection = await JetStreamConnection.connect({ servers: natsUrl, name: 'fedledger-simulate' });
    const blobs = await BlobStore.open(connection, { stream: streams.FL_BLOBS.name, subjectPrefix: subjects.blobPrefix });
    const weights = await blobs.put(encodeWeights(initialWeights(o.params)));
    const experimentId = `sim-${Date.now().toString(36)}`;
    const plan = {
      id: experimentId,
      modelArchitecture: 'dense-test',
      initialWeights: weights,
      strategy: { kind: o.strategy, params: o.strategyParams },
      rounds: o.rounds,
      epochsPerRound: o.epochs,
      centres,
      minFitCentres: o.minFit,
      minAvailableCentres: o.minFit,
      roundDeadlineMs: o.deadlineMs,
      maxRoundRetries: 0,
    };
    const api = coordinator.url;
    await request(`${api}/experiments`, plan);
    progress(`experiment ${experimentId}: ${o.rounds} rounds × ${o.centres} centres, ${o.params} parameters, ${o.strategy}, trainer ${o.trainer}`);
    await request(`${api}/experiments/${experimentId}/start`);

    const consumer = await connection.js.consumers.get(streams.FL_EVENTS.name, { filter_subjects: [subjects.experimentEvents(experimentId)] });
    const messages = await consumer.consume();
    for await (const m of messages) {
      const event = decodeEvent(m.subject, m.data);
      io.out(o.json ? JSON.stringify(event) : describeEvent(event));
      if (event.event === 'experiment.completed') {
        succeeded = event.outcome === 'EXPERIMENT_OUTCOME_SUCCEEDED';
        break;
      }
    }
    messages.stop();
    return succeeded ? 0 : 1;
  } finally {
    await connection?.drain();
    await Promise.all(components.slice(1).map((c) => c.stop(10_000)));
    await components[0]?.stop(5_000);
    if (o.keep || !succeeded) progress(`logs and data kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

async function request(url: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
  const text = await res.text();
  if (!res.ok) throw new CliError(`POST ${url} answered ${res.status}: ${text}`);
  return JSON.parse(text) as unknown;
}
