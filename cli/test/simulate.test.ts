import { spawn } from 'node:child_process';
import path from 'node:path';

const cli = path.join(__dirname, '../bin/fedledger.js');

function fedledger(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('fedledger simulate: a 3-round experiment with 3 centres completes and prints its events as JSON lines', async () => {
  const { code, stdout, stderr } = await fedledger(['simulate', '--trainer', 'noop', '--centres', '3', '--rounds', '3', '--params', '5000', '--json']);
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
  expect(events[events.length - 1]).toMatchObject({ event: 'experiment.completed', outcome: 'EXPERIMENT_OUTCOME_SUCCEEDED', roundsCompleted: 3 });
  // Each round's aggregate is the next round's starting point.
  const started = events.filter((e) => e.event === 'round.started');
  expect(started.slice(1).map((s) => s.globalWeights)).toEqual(rounds.slice(0, 2).map((r) => r.aggregate));
}, 180_000);

test('fedledger simulate --trainer tfjs: centres really train, and the federated loss goes down', async () => {
  const { code, stdout, stderr } = await fedledger(['simulate', '--trainer', 'tfjs', '--centres', '3', '--rounds', '3', '--epochs', '2', '--evaluate-every', '1', '--json']);
  expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
  const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; aggregatedMetrics?: { loss: number; accuracy: number } });
  const rounds = events.filter((e) => e.event === 'round.completed');
  expect(rounds).toHaveLength(3);
  const loss = rounds.map((r) => r.aggregatedMetrics!.loss);
  expect(loss[2]).toBeLessThan(loss[0]!);
  // the centres' evaluations of each round's aggregate on their held-out examples
  const evaluated = events.filter((e) => e.event === 'round.evaluated');
  expect(evaluated).toHaveLength(3);
  expect(evaluated[2]!.aggregatedMetrics!.loss).toBeLessThan(evaluated[0]!.aggregatedMetrics!.loss);
  expect(evaluated[2]!.aggregatedMetrics!.accuracy).toBeGreaterThan(0.6);
}, 180_000);

test('fedledger simulate refuses a bad strategy with a usage error', async () => {
  const { code, stderr } = await fedledger(['simulate', '--strategy', 'fedbest']);
  expect(code).toBe(2);
  expect(stderr).toContain("--strategy must be one of fedavg, fedavgm, fedprox, fedmedian, fedtrimmedavg, krum, multikrum, bulyan, fedadam, fedyogi, fedadagrad, got 'fedbest'");
});
