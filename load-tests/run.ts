// npm run load -- [--profile short|long] [--rate <scenario>=<n>]... [--duration <s>] [--registry <url>] [--indexer <url>]
//                  [--data-dir .data] [--as ub/dev-1] [--json]
//
// Open-model load on the passport-registry (create, update, read, history) and the ledger-indexer (queries,
// timelines) of a running stack (`npx fedledger up`): every scenario of the profile at its constant arrival rate, all
// at once, through vegeta; then each scenario's latencies and errors against its thresholds. Exit 1 when one breaks.
// Progress goes to stderr; --json prints one JSON line on stdout.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadIdentity } from '@fedledger/identity';
import { signProposal } from '@fedledger/ledger';
import { PROFILES, type Profile, type ScenarioName } from './profiles';
import { passport, seedCount, targetsOf, type Plan } from './scenarios';
import { attack, writeTargets, type VegetaReport } from './vegeta';

const log = (s: string) => process.stderr.write(`[load] ${s}\n`);
const ms = (ns: number) => Math.round(ns / 1e5) / 10;

class LoadError extends Error {}

/** The stack's URLs from the state `fedledger up` writes (<data-dir>/stack.json). */
function stackUrl(dataDir: string, component: string): string {
  const file = path.join(dataDir, 'stack.json');
  let state: { components?: { name: string; url?: string }[] };
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as typeof state;
  } catch (err) {
    throw new LoadError(`no running stack described in ${file} (${(err as Error).message}): start one with \`npx fedledger up\`, or give --registry and --indexer`);
  }
  const url = state.components?.find((c) => c.name === component)?.url;
  if (!url) throw new LoadError(`${file} names no ${component} URL: start the stack with \`npx fedledger up\`, or give its URL`);
  return url;
}

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new LoadError(`POST ${url} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
}

/** Seeded passports must be in the indexer's cache before its scenarios read them. */
async function waitIndexed(indexer: string, ids: string[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  const last = ids[ids.length - 1]!;
  while (Date.now() < until) {
    if ((await fetch(`${indexer}/passports/${last}/timeline`)).ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new LoadError(`the ledger-indexer at ${indexer} did not index passport ${last} within ${timeoutMs / 1000} s`);
}

interface ScenarioResult {
  scenario: ScenarioName;
  rate: number;
  requests: number;
  throughput: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  errorRate: number;
  statusCodes: Record<string, number>;
  thresholds: { p95Ms: number; maxErrorRate: number };
  broken: string[];
}

function judge(scenario: ScenarioName, rate: number, r: VegetaReport, thresholds: { p95Ms: number; maxErrorRate: number }): ScenarioResult {
  const errorRate = r.requests === 0 ? 1 : 1 - r.success;
  const p95Ms = ms(r.latencies['95th']);
  const broken = [
    ...(p95Ms >= thresholds.p95Ms ? [`p95 ${p95Ms} ms >= ${thresholds.p95Ms} ms`] : []),
    ...(errorRate > thresholds.maxErrorRate ? [`errors ${(errorRate * 100).toFixed(2)} % > ${thresholds.maxErrorRate * 100} % (${(r.errors ?? []).slice(0, 3).join('; ')})`] : []),
    ...(r.requests === 0 ? ['no request was sent'] : []),
  ];
  return {
    scenario,
    rate,
    requests: r.requests,
    throughput: Math.round(r.throughput * 10) / 10,
    p50Ms: ms(r.latencies['50th']),
    p95Ms,
    p99Ms: ms(r.latencies['99th']),
    maxMs: ms(r.latencies.max),
    errorRate: Math.round(errorRate * 10_000) / 10_000,
    statusCodes: r.status_codes,
    thresholds,
    broken,
  };
}

/** The profile with `--rate <scenario>=<n>` and `--duration <s>` applied (to find a capacity, or to try a fix). */
function withOverrides(base: Profile, rates: string[], duration: string | undefined): Profile {
  const scenarios = { ...base.scenarios };
  for (const r of rates) {
    const [name, value] = r.split('=');
    if (!name || !(name in scenarios)) throw new LoadError(`--rate ${r}: no scenario '${name}' (${Object.keys(scenarios).join(', ')})`);
    const rate = Number(value);
    if (!Number.isFinite(rate) || rate <= 0 || rate > 10_000) throw new LoadError(`--rate ${r}: expected a rate in (0, 10000] requests per second`);
    scenarios[name as ScenarioName] = { ...scenarios[name as ScenarioName], rate };
  }
  const durationS = duration === undefined ? base.durationS : Number(duration);
  if (!Number.isInteger(durationS) || durationS < 1 || durationS > 3600) throw new LoadError(`--duration ${duration}: expected whole seconds in 1..3600`);
  return { ...base, durationS, scenarios };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      profile: { type: 'string', default: 'short' },
      registry: { type: 'string' },
      indexer: { type: 'string' },
      'data-dir': { type: 'string', default: '.data' },
      'identity-dir': { type: 'string' },
      as: { type: 'string', default: 'ub/dev-1' },
      json: { type: 'boolean', default: false },
      rate: { type: 'string', multiple: true, default: [] },
      duration: { type: 'string' },
    },
  });
  const profileName = values.profile;
  if (profileName !== 'short' && profileName !== 'long') throw new LoadError(`--profile must be short or long, got '${profileName}'`);
  const profile = withOverrides(PROFILES[profileName], values.rate, values.duration);
  const dataDir = path.resolve(values['data-dir']);
  const registry = (values.registry ?? stackUrl(dataDir, 'passport-registry')).replace(/\/$/, '');
  const indexer = (values.indexer ?? stackUrl(dataDir, 'ledger-indexer')).replace(/\/$/, '');
  const [org, user] = values.as.split('/');
  if (!org || !user) throw new LoadError(`--as must be <org>/<user>, got '${values.as}'`);
  const developer = loadIdentity(values['identity-dir'] ?? path.join(dataDir, 'identities'), org, user);

  const tag = `${Date.now().toString(36)}`;
  const seeded = Array.from({ length: seedCount(profile) }, (_, i) => `load-${tag}-seed-${i}`);
  log(`profile ${profileName}: ${profile.description}; registry ${registry}, indexer ${indexer}`);
  log(`seeding ${seeded.length} passports as ${developer.mspId}/${developer.user}...`);
  const t0 = Date.now();
  for (let i = 0; i < seeded.length; i += 10) {
    await Promise.all(seeded.slice(i, i + 10).map((id) => post(`${registry}/transactions/submit`, signProposal(developer, 'passport:Create', [JSON.stringify(passport(id))]))));
  }
  await waitIndexed(indexer, seeded, 60_000);
  log(`seeded and indexed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const plan: Plan = { tag, registry, indexer, developer, seeded };
  const work = mkdtempSync(path.join(os.tmpdir(), 'fedledger-load-'));
  try {
    const names = Object.keys(profile.scenarios) as ScenarioName[];
    log(`signing and writing the requests of ${names.length} scenarios...`);
    for (const name of names) await writeTargets(path.join(work, `${name}.targets`), targetsOf(name, profile, plan));
    const total = names.reduce((n, s) => n + profile.scenarios[s].rate, 0);
    log(`attacking: ${names.map((n) => `${n} ${profile.scenarios[n].rate}/s`).join(', ')} (${total} requests/s in all) for ${profile.durationS} s...`);
    // Every attack is waited for, failed or not, before the work folder goes.
    const settled = await Promise.allSettled(names.map((n) => attack(path.join(work, `${n}.targets`), path.join(work, `${n}.bin`), profile.scenarios[n].rate, profile.durationS, n)));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const reports = settled.map((r) => (r as PromiseFulfilledResult<VegetaReport>).value);
    const results = names.map((n, i) => judge(n, profile.scenarios[n].rate, reports[i]!, profile.scenarios[n].thresholds));

    const pad = (s: string | number, n: number) => String(s).padStart(n);
    log(`${'scenario'.padEnd(18)} ${pad('rate/s', 7)} ${pad('reqs', 6)} ${pad('p50 ms', 8)} ${pad('p95 ms', 8)} ${pad('p99 ms', 8)} ${pad('errors', 7)}  thresholds`);
    for (const r of results) {
      const verdict = r.broken.length ? `BROKEN: ${r.broken.join('; ')}` : 'ok';
      log(`${r.scenario.padEnd(18)} ${pad(r.rate, 7)} ${pad(r.requests, 6)} ${pad(r.p50Ms, 8)} ${pad(r.p95Ms, 8)} ${pad(r.p99Ms, 8)} ${pad(`${(r.errorRate * 100).toFixed(1)}%`, 7)}  p95<${r.thresholds.p95Ms} errors<=${r.thresholds.maxErrorRate * 100}%: ${verdict}`);
    }
    const broken = results.filter((r) => r.broken.length > 0);
    const summary = { load: profileName, durationS: profile.durationS, at: new Date().toISOString(), cpus: os.cpus().length, passed: broken.length === 0, scenarios: results };
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    if (broken.length) log(`${broken.length} scenario(s) broke a threshold: ${broken.map((r) => r.scenario).join(', ')}`);
    else log('every threshold held');
    return broken.length ? 1 : 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`load failed: ${err instanceof Error ? (err instanceof LoadError ? err.message : (err.stack ?? err.message)) : String(err)}\n`);
    process.exit(err instanceof LoadError ? 2 : 1);
  },
);
