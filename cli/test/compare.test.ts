import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { fedledger } from './run-cli';

interface Scores {
  auc: number | null;
  accuracy: number;
  examples: number;
}

test('fedledger compare: CDS, FL Median and FL Avg evaluated on every centre’s held-out test patients', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-compare-test-'));
  try {
    expect((await fedledger(['data', 'synth', '--kind', 'tabular', '--out', path.join(dir, 'data'), '--seed', '4'])).code).toBe(0);
    const { code, stdout, stderr } = await fedledger(['compare', '--data', path.join(dir, 'data'), '--rounds', '2', '--ledger-dir', path.join(dir, 'ledger'), '--identity-dir', path.join(dir, 'ids'), '--json']);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const result = JSON.parse(stdout) as { compare: { cdsEpochs: number }; centres: ({ centre: string; testExamples: number } & Record<string, Scores>)[]; average: Record<string, { auc: number; accuracy: number }> };
    expect(result.compare.cdsEpochs).toBe(2);
    expect(result.centres.map((c) => c.centre)).toEqual(['bcdr', 'cmmd', 'inbreast', 'optimam-jarv', 'optimam-stge']);
    for (const row of result.centres) {
      for (const column of ['CDS', 'FL Median', 'FL Avg']) {
        expect(row[column]!.examples).toBe(row.testExamples);
        expect(row[column]!.accuracy).toBeGreaterThanOrEqual(0);
        expect(row[column]!.accuracy).toBeLessThanOrEqual(1);
      }
    }
    // the Average row is the mean over centres of each column
    const cdsAuc = result.centres.map((c) => c.CDS!.auc).filter((a): a is number => a !== null);
    expect(result.average.CDS!.auc).toBeCloseTo(cdsAuc.reduce((a, b) => a + b, 0) / cdsAuc.length, 12);
    // the tabular task is learnable: every approach does better than chance on average
    for (const column of ['CDS', 'FL Median', 'FL Avg']) expect(result.average[column]!.auc).toBeGreaterThan(0.6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
