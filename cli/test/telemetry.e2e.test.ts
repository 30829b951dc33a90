import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadIdentity } from '@fedledger/identity';
import { signProposal } from '@fedledger/ledger';
import { fedledger } from './run-cli';

/**
 * OpenTelemetry end to end: `fedledger simulate` with every service exporting OTLP/HTTP to a receiver in this test.
 * One round is one trace tree, from the coordinator's round span through the centres, the aggregator and back, to
 * the passport-registry recording it on the ledger and the ledger-indexer putting that transaction in the audit
 * cache; the services export the platform's metrics.
 */
interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: OtlpAttribute[];
  links?: { traceId: string; spanId: string }[];
}
interface ReceivedSpan extends OtlpSpan {
  service: string;
}

const spans: ReceivedSpan[] = [];
const metricNames = new Set<string>();
let receiver: Server;
let endpoint: string;
let dir: string;

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? v?.boolValue ?? (v?.intValue === undefined ? undefined : Number(v.intValue));
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-otel-'));
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
        resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
        resourceMetrics?: { scopeMetrics?: { metrics?: { name: string }[] }[] }[];
      };
      for (const rs of body.resourceSpans ?? []) {
        const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
        for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) spans.push({ ...span, service });
      }
      for (const rm of body.resourceMetrics ?? []) for (const sm of rm.scopeMetrics ?? []) for (const m of sm.metrics ?? []) metricNames.add(m.name);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

test('one simulated round is one trace tree across the coordinator, the centres, the aggregator, the passport-registry, the ledger and the ledger-indexer; the services export their metrics', async () => {
  const env = { FEDLEDGER_OTEL_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: `${endpoint}/v1/traces`, OTEL_METRIC_EXPORT_INTERVAL: '500' };
  const ledger = ['--ledger-dir', path.join(dir, 'ledger'), '--identity-dir', path.join(dir, 'ids')];
  const sim = await fedledger(['simulate', '--trainer', 'noop', '--centres', '2', '--rounds', '2', '--params', '2000', '--out', path.join(dir, 'model'), ...ledger, '--json'], env);
  expect({ code: sim.code, stderr: sim.code === 0 ? '' : sim.stderr }).toEqual({ code: 0, stderr: '' });
  const experimentId = String(
    sim.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((e) => e.event === 'round.completed')!.experimentId,
  );

  // The services flush their spans when they stop, which simulate does before it exits.
  const root = spans.find((s) => s.name === 'round 1' && attr(s, 'fedledger.experiment.id') === experimentId);
  expect(root).toMatchObject({ service: 'round-coordinator' });
  expect(root!.parentSpanId ?? '').toBe('');
  const tree = spans.filter((s) => s.traceId === root!.traceId);
  const ids = new Set(tree.map((s) => s.spanId));
  // A tree: every span but the root has its parent in the trace.
  expect(tree.filter((s) => s !== root && !ids.has(s.parentSpanId ?? ''))).toEqual([]);

  // Publishes the server dropped as duplicates (a state change re-sends what is pending; the msg id makes it a no-op) do not count.
  const where = (service: string, name: RegExp) => tree.filter((s) => s.service === service && name.test(s.name) && attr(s, 'messaging.nats.duplicate') !== true);
  const exp = experimentId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  expect(where('round-coordinator', new RegExp(`^publish fl\\.tasks\\.${exp}\\.`))).toHaveLength(2);
  expect(where('centre-agent', new RegExp(`^process fl\\.tasks\\.${exp}\\.`))).toHaveLength(2);
  expect(where('centre-agent', new RegExp(`^publish fl\\.updates\\.${exp}\\.1\\.`))).toHaveLength(2);
  expect(where('aggregator', new RegExp(`^process fl\\.updates\\.${exp}\\.1\\.`)).length).toBeGreaterThanOrEqual(2);
  expect(where('round-coordinator', new RegExp(`^process fl\\.events\\.${exp}\\.update\\.accepted`)).length).toBeGreaterThanOrEqual(2);
  expect(where('aggregator', new RegExp(`^process fl\\.control\\.${exp}\\.1\\.close`))).toHaveLength(1);
  expect(where('round-coordinator', new RegExp(`^process fl\\.aggregates\\.${exp}\\.1`))).toHaveLength(1);
  expect(where('passport-registry', new RegExp(`^process fl\\.events\\.${exp}\\.round\\.completed`))).toHaveLength(1);
  const recorded = where('passport-registry', /^ledger submit passport:AddRound$/);
  expect(recorded).toHaveLength(1);
  const txId = attr(recorded[0]!, 'fedledger.ledger.tx_id');
  expect(txId).toMatch(/^[0-9a-f]{64}$/);
  // The indexer puts that transaction in the audit cache inside the same trace, under the submit, and announces it.
  const indexed = where('ledger-indexer', /^index RoundAdded$/);
  expect(indexed).toEqual([expect.objectContaining({ parentSpanId: recorded[0]!.spanId })]);
  expect(attr(indexed[0]!, 'fedledger.ledger.tx_id')).toBe(txId);
  expect(where('ledger-indexer', /^publish ledger\.events\.RoundAdded\./)).toEqual([expect.objectContaining({ parentSpanId: indexed[0]!.spanId })]);

  // Round 2 is its own trace, linked to what started it (round 1's aggregate, recorded by the coordinator).
  const second = spans.find((s) => s.name === 'round 2' && attr(s, 'fedledger.experiment.id') === experimentId);
  expect(second?.traceId).not.toBe(root!.traceId);
  expect(second?.links?.[0]?.traceId).toBe(root!.traceId);

  for (const name of ['fedledger.rounds.started', 'fedledger.rounds.completed', 'fedledger.round.duration', 'fedledger.updates.accepted', 'fedledger.blob.bytes', 'fedledger.ledger.submit.duration']) {
    expect([...metricNames]).toContain(name);
  }
}, 180_000);

test('the ledger-indexer joins the trace of the registry submit whose transaction it indexes', async () => {
  const data = path.join(dir, 'stack');
  const env = { FEDLEDGER_OTEL_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: `${endpoint}/v1/traces`, OTEL_METRIC_EXPORT_INTERVAL: '500' };
  const up = await fedledger(['up', '--data-dir', data], env);
  try {
    expect({ code: up.code, stderr: up.code === 0 ? '' : up.stderr }).toEqual({ code: 0, stderr: '' });
    const state = JSON.parse(await readFile(path.join(data, 'stack.json'), 'utf8')) as { components: { name: string; url?: string }[] };
    const registry = state.components.find((c) => c.name === 'passport-registry')!.url!;
    const developer = loadIdentity(path.join(data, 'identities'), 'ub', 'dev-1');
    const passport = { id: 'p-traced', description: 'traced', model: { name: 'm', version: '1', architecture: 'CNN', task: 't', modality: 'MG', framework: 'tfjs', licence: 'research' }, intendedUse: { primaryUses: ['research'], primaryUsers: ['radiologists'] }, trainingType: 'FEDERATED', datasets: [], aggregators: [] };
    const res = await fetch(`${registry}/transactions/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(signProposal(developer, 'passport:Create', [JSON.stringify(passport)])) });
    expect(res.status).toBe(200);
    const { txId } = (await res.json()) as { txId: string };

    const until = Date.now() + 20_000;
    const indexed = () => spans.find((s) => s.service === 'ledger-indexer' && s.name === 'index PassportCreated' && attr(s, 'fedledger.ledger.tx_id') === txId);
    while (!indexed() && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    const submit = spans.find((s) => s.service === 'passport-registry' && s.name === 'ledger submit passport:Create' && attr(s, 'fedledger.ledger.tx_id') === txId);
    expect(submit).toBeDefined();
    expect(indexed()).toMatchObject({ traceId: submit!.traceId, parentSpanId: submit!.spanId });
    // and the indexer's announcement is in that trace too
    const announced = spans.find((s) => s.service === 'ledger-indexer' && s.name === 'publish ledger.events.PassportCreated.p-traced');
    expect(announced).toMatchObject({ traceId: submit!.traceId, parentSpanId: indexed()!.spanId });
  } finally {
    await fedledger(['down', '--data-dir', data]);
  }
}, 180_000);
