import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { MongoClient } from 'mongodb';
import { startFerret } from '@fedledger/testing';
import { fedledger } from './run-cli';

let ledgerRoot: string;
beforeAll(() => {
  ledgerRoot = mkdtempSync(path.join(os.tmpdir(), 'fedledger-sim-ledger-'));
});
afterAll(() => rmSync(ledgerRoot, { recursive: true, force: true }));
/** Each test's own ledger and identities (never the checkout's .data). */
const ledgerArgs = (name: string) => ['--ledger-dir', path.join(ledgerRoot, name, 'ledger'), '--identity-dir', path.join(ledgerRoot, name, 'ids')];

test('fedledger simulate: a 3-round experiment with 3 centres completes, prints its events as JSON lines, and its passport holds the 3 rounds as a digest chain', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-sim-test-'));
  const ledger = ledgerArgs('noop');
  const { code, stdout, stderr } = await fedledger(['simulate', '--trainer', 'noop', '--centres', '3', '--rounds', '3', '--params', '5000', '--out', path.join(dir, 'model'), ...ledger, '--json']);
  expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
  const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const rounds = events.filter((e) => e.event === 'round.completed');
  expect(rounds.map((r) => [r.round, r.centres, r.examples, r.missing])).toEqual([
    [1, ['c01', 'c02', 'c03'], 300, []],
    [2, ['c01', 'c02', 'c03'], 300, []],
    [3, ['c01', 'c02', 'c03'], 300, []],
  ]);
  for (const r of rounds) expect(r.durationMs).toEqual(expect.any(Number));
  expect(events.filter((e) => e.event === 'update.accepted')).toHaveLength(9);
  expect(events.slice(-4).map((e) => e.event)).toEqual(['experiment.completed', 'model.exported', 'passport.recorded', 'passport.indexed']);
  // The ledger-indexer's audit cache caught up with the passport: created, 3 rounds, the model, each a version.
  const recordedEvent = events.find((e) => e.event === 'passport.recorded')!;
  expect(events[events.length - 1]).toMatchObject({ passportId: recordedEvent.passportId, rounds: 3, versions: expect.any(Number) });
  expect(Number(events[events.length - 1]!.versions)).toBeGreaterThanOrEqual(5);
  expect(events.find((e) => e.event === 'experiment.completed')).toMatchObject({ outcome: 'EXPERIMENT_OUTCOME_SUCCEEDED', roundsCompleted: 3 });
  // Each round's aggregate is the next round's starting point.
  const started = events.filter((e) => e.event === 'round.started');
  expect(started.slice(1).map((s) => s.globalWeights)).toEqual(rounds.slice(0, 2).map((r) => r.aggregate));

  // The demonstration: the passport lists the three rounds with their digest chain...
  const recorded = events.find((e) => e.event === 'passport.recorded')!;
  expect(recorded).toMatchObject({ passportId: expect.stringMatching(/^passport-sim-/), rounds: 3, artifactDigest: `sha256:${String(rounds[2]!.aggregate)}` });
  const id = String(recorded.passportId);
  const shown = await fedledger(['passport', 'show', id, ...ledger, '--json']);
  expect(shown.code).toBe(0);
  const { passport, rounds: onLedger, roundChainIntact } = JSON.parse(shown.stdout) as { passport: Record<string, unknown>; rounds: Record<string, unknown>[]; roundChainIntact: boolean };
  expect(passport).toMatchObject({ roundCount: 3, owner: { mspId: 'UBMSP', commonName: 'dev-1' }, aggregators: ['UBMSP/passport-registry'], artifactDigest: recorded.artifactDigest });
  expect(onLedger.map((r) => [r.roundNumber, r.aggregateDigest, r.aggregator])).toEqual(rounds.map((r) => [r.round, `sha256:${String(r.aggregate)}`, 'UBMSP/passport-registry']));
  expect(onLedger.map((r) => r.previousRoundDigest)).toEqual([null, onLedger[0]!.roundDigest, onLedger[1]!.roundDigest]);
  expect(roundChainIntact).toBe(true);
  // ...the final model verifies against it, any other file does not...
  const artefact = path.join(dir, 'model', 'model.flw');
  expect(createHash('sha256').update(readFileSync(artefact)).digest('hex')).toBe(String(rounds[2]!.aggregate));
  expect((await fedledger(['passport', 'verify', id, artefact, ...ledger])).code).toBe(0);
  expect((await fedledger(['passport', 'verify', id, path.join(dir, 'model'), ...ledger])).code).toBe(0);
  const other = path.join(dir, 'other.flw');
  writeFileSync(other, Buffer.concat([readFileSync(artefact), Buffer.from([0])]));
  const mismatch = await fedledger(['passport', 'verify', id, other, ...ledger]);
  expect(mismatch.code).toBe(1);
  expect(mismatch.stdout).toContain(`does NOT match the artefact of passport ${id}`);
  // ...an update signed by someone else than the owner is refused with the reason...
  const ids = ledger[3]!;
  expect((await fedledger(['identity', 'add', '--dir', ids, '--org', 'ub', '--user', 'dev-2', '--role', 'developer'])).code).toBe(0);
  const changes = path.join(dir, 'changes.json');
  writeFileSync(changes, JSON.stringify({ description: 'not mine to change' }));
  const refused = await fedledger(['passport', 'update', id, '--as', 'ub/dev-2', '--expected-version', String(passport.version), '--file', changes, ...ledger]);
  expect(refused.code).toBe(1);
  expect(refused.stderr.trim()).toBe(`fedledger passport: passport ${id} is owned by UBMSP/dev-1, caller is UBMSP/dev-2`);
  // ...and the ledger verifies, then names the block whose byte was flipped.
  expect(await fedledger(['ledger', 'verify', '--ledger-dir', ledger[1]!])).toMatchObject({ code: 0 });
  const blocksFile = path.join(ledger[1]!, 'blocks.jsonl');
  const bytes = readFileSync(blocksFile);
  const secondLine = bytes.indexOf('\n') + 1;
  const at = bytes.indexOf('"txName"', secondLine) + 10; // a byte inside block 1's first transaction
  bytes[at] ^= 0x01;
  writeFileSync(blocksFile, bytes);
  const broken = await fedledger(['ledger', 'verify', '--ledger-dir', ledger[1]!]);
  expect(broken.code).toBe(1);
  expect(broken.stdout + broken.stderr).toContain('block 1');
  rmSync(dir, { recursive: true, force: true });
}, 180_000);

test("fedledger audit and index verify: the passport's timeline from the cache after simulate, checked against the ledger; a row edited in the cache is named", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-audit-test-'));
  const ledger = ledgerArgs('audit');
  const ferret = await startFerret();
  const mongo = await MongoClient.connect(ferret.uri);
  try {
    const sim = await fedledger(['simulate', '--trainer', 'noop', '--centres', '2', '--rounds', '3', '--params', '2000', '--out', path.join(dir, 'model'), ...ledger, '--json']);
    expect(sim.code).toBe(0);
    const id = String(sim.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === 'passport.recorded')!.passportId);

    // A private cache (FerretDB on --cache-dir, started for the command) brought up to date from the ledger.
    const audit = await fedledger(['audit', id, ...ledger, '--cache-dir', path.join(dir, 'cache'), '--html', path.join(dir, 'timeline.html'), '--json']);
    expect({ code: audit.code, stderr: audit.code === 0 ? '' : audit.stderr }).toEqual({ code: 0, stderr: '' });
    const timeline = JSON.parse(audit.stdout) as { rounds: Record<string, unknown>[]; audit: { ok: boolean; checked: { rounds: number } } };
    expect(timeline.rounds.map((r) => r.roundNumber)).toEqual([1, 2, 3]);
    expect(timeline.rounds[2]!.previousRoundDigest).toBe(timeline.rounds[1]!.roundDigest);
    expect(timeline.audit).toMatchObject({ ok: true, checked: { rounds: 3 } });
    expect(readFileSync(path.join(dir, 'timeline.html'), 'utf8')).toContain(`<h1>AI passport <code>${id}</code>`);

    // A shared cache (--mongo): verified whole, then a row changed behind the indexer's back is reported.
    const shared = [...ledger, '--mongo', ferret.uri];
    expect(await fedledger(['index', 'verify', ...shared])).toMatchObject({ code: 0, stdout: expect.stringContaining('the cache matches the ledger: 1 passports, 5 versions, 3 rounds') });
    await mongo.db('fedledger_cache').collection('rounds').updateOne({ _id: `${id}#2` as never }, { $set: { 'participants.0.numExamples': 1 } });
    const differs = await fedledger(['index', 'verify', ...shared]);
    expect(differs.code).toBe(1);
    expect(differs.stdout).toContain(`passport ${id}: round 2: participants: cache`);
  } finally {
    await mongo.close();
    await ferret.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);

const parse = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; round?: number; aggregatedMetrics?: Record<string, number>; centres?: unknown } & Record<string, unknown>);

test('fedledger simulate on DICOM centres: every centre prepares its own images, trains, evaluates; the final model is exported with its digest', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-sim-test-'));
  try {
    const synth = await fedledger(['data', 'synth', '--out', path.join(dir, 'data'), '--seed', '3', '--max-per-centre', '30', '--size', '48']);
    expect(synth.code).toBe(0);
    const { code, stdout, stderr } = await fedledger(['simulate', '--data', path.join(dir, 'data'), '--rounds', '2', '--input-size', '32', '--out', path.join(dir, 'model'), ...ledgerArgs('dicom'), '--json']);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const events = parse(stdout);
    const completed = events.filter((e) => e.event === 'round.completed');
    expect(completed.map((e) => e.centres)).toEqual([
      ['bcdr', 'cmmd', 'inbreast', 'optimam-jarv', 'optimam-stge'],
      ['bcdr', 'cmmd', 'inbreast', 'optimam-jarv', 'optimam-stge'],
    ]);
    // evaluation after every round, on each centre's validation patients, with the binary metrics
    const evaluated = events.filter((e) => e.event === 'round.evaluated');
    expect(evaluated.map((e) => e.round)).toEqual([1, 2]);
    expect(Object.keys(evaluated[1]!.aggregatedMetrics!)).toEqual(expect.arrayContaining(['loss', 'accuracy', 'auc', 'sensitivity', 'specificity']));
    expect(stderr).toMatch(/histogram matching to landmarks learnt from the reference centre/);
    // the final model, in TensorFlow.js format, with the digests printed
    const exported = events.find((e) => e.event === 'model.exported')!;
    expect(exported.dir).toBe(path.join(dir, 'model'));
    const weights = readFileSync(path.join(dir, 'model', 'weights.bin'));
    expect(createHash('sha256').update(weights).digest('hex')).toBe(exported.weightsSha256);
    expect(JSON.parse(readFileSync(path.join(dir, 'model', 'model.json'), 'utf8')).format).toBe('layers-model');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);

test('fedledger simulate on tabular centres (an MLP): the federated model gets better round after round', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-sim-test-'));
  try {
    expect((await fedledger(['data', 'synth', '--kind', 'tabular', '--out', path.join(dir, 'data'), '--seed', '2'])).code).toBe(0);
    const { code, stdout, stderr } = await fedledger(['simulate', '--data', path.join(dir, 'data'), '--rounds', '3', '--epochs', '2', '--out', path.join(dir, 'model'), ...ledgerArgs('tabular'), '--json']);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const evaluated = parse(stdout).filter((e) => e.event === 'round.evaluated');
    expect(evaluated).toHaveLength(3);
    expect(evaluated[2]!.aggregatedMetrics!.loss).toBeLessThan(evaluated[0]!.aggregatedMetrics!.loss!);
    expect(evaluated[2]!.aggregatedMetrics!.auc).toBeGreaterThan(0.7);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);

test('fedledger simulate refuses a bad strategy with a usage error', async () => {
  const { code, stderr } = await fedledger(['simulate', '--strategy', 'fedbest']);
  expect(code).toBe(2);
  expect(stderr).toContain("--strategy must be one of fedavg, fedavgm, fedprox, fedmedian, fedtrimmedavg, krum, multikrum, bulyan, fedadam, fedyogi, fedadagrad, got 'fedbest'");
});
