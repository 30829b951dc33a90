import { LOSS_EPSILON, binaryMetrics, createRandomSource, weightedMean } from '../src/preprocess';

describe('binaryMetrics', () => {
  test('AUC: perfect ranking 1, inverted 0, all tied ½', () => {
    const labels = [0, 0, 0, 1, 1];
    expect(binaryMetrics([0.1, 0.2, 0.3, 0.8, 0.9], labels).auc).toBe(1);
    expect(binaryMetrics([0.9, 0.8, 0.7, 0.2, 0.1], labels).auc).toBe(0);
    expect(binaryMetrics([0.5, 0.5, 0.5, 0.5, 0.5], labels).auc).toBe(0.5);
  });

  test('AUC of random scores is about ½', () => {
    const random = createRandomSource('auc');
    const n = 20_000;
    const p = Float32Array.from({ length: n }, () => random());
    const y = Array.from({ length: n }, () => (random() < 0.3 ? 1 : 0));
    expect(Math.abs(binaryMetrics(p, y).auc! - 0.5)).toBeLessThan(0.02);
  });

  test('AUC with ties, computed by hand', () => {
    // Positives 0.4 and 0.8; negatives 0.1 and 0.4. Pairs (pos > neg = 1, tie = ½):
    // 0.4 vs 0.1 → 1, 0.4 vs 0.4 → ½, 0.8 vs 0.1 → 1, 0.8 vs 0.4 → 1: 3.5 / 4.
    expect(binaryMetrics([0.1, 0.4, 0.4, 0.8], [0, 0, 1, 1]).auc).toBe(0.875);
    // Order of the examples does not matter.
    expect(binaryMetrics([0.4, 0.8, 0.1, 0.4], [1, 1, 0, 0]).auc).toBe(0.875);
    // Three tied at 0.3 (two negatives, one positive), a positive above, a negative below:
    // pos 0.3 vs negs {0.1, 0.3, 0.3} → 1 + ½ + ½ = 2; pos 0.9 → 3. AUC = 5 / 6.
    expect(binaryMetrics([0.1, 0.3, 0.3, 0.3, 0.9], [0, 0, 1, 0, 1]).auc).toBeCloseTo(5 / 6, 12);
  });

  test('confusion matrix, accuracy, sensitivity and specificity (positive when p ≥ threshold)', () => {
    // tp 3, fn 1, tn 4, fp 2.
    const p = [0.9, 0.8, 0.5, 0.2, 0.1, 0.3, 0.4, 0.45, 0.6, 0.7];
    const y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
    const m = binaryMetrics(p, y);
    expect(m.confusion).toEqual({ tp: 3, fn: 1, tn: 4, fp: 2 });
    expect(m).toMatchObject({ examples: 10, positives: 4, negatives: 6, accuracy: 0.7, sensitivity: 0.75, specificity: 4 / 6, threshold: 0.5, reasons: {} });
    const strict = binaryMetrics(p, y, 0.75);
    expect(strict.confusion).toEqual({ tp: 2, fn: 2, tn: 6, fp: 0 });
  });

  test('loss: mean binary cross-entropy, clipped', () => {
    expect(binaryMetrics([0.9, 0.2], [1, 0]).loss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8)) / 2, 12);
    // A certain, wrong prediction costs −ln(ε), not Infinity.
    expect(binaryMetrics([0, 1], [1, 0]).loss).toBeCloseTo(-Math.log(LOSS_EPSILON), 9);
    expect(binaryMetrics([1, 0], [1, 0]).loss).toBeLessThan(1e-6);
  });

  test('one class absent: AUC and the rate of the missing class are null, with the reason', () => {
    const onlyNeg = binaryMetrics([0.1, 0.7], [0, 0]);
    expect(onlyNeg).toMatchObject({ positives: 0, auc: null, sensitivity: null, specificity: 0.5, accuracy: 0.5 });
    expect(onlyNeg.reasons).toEqual({ auc: 'no positive (label 1) examples', sensitivity: 'no positive (label 1) examples' });
    const onlyPos = binaryMetrics(new Float32Array([0.9]), [1]);
    expect(onlyPos).toMatchObject({ negatives: 0, auc: null, sensitivity: 1, specificity: null });
    expect(onlyPos.reasons.specificity).toMatch(/no negative/);
  });

  test('clear errors', () => {
    expect(() => binaryMetrics([], [])).toThrow(/probabilities is empty/);
    expect(() => binaryMetrics([0.5], [1, 0])).toThrow(/labels has 2 values but probabilities has 1/);
    expect(() => binaryMetrics([0.5, 1.2], [1, 0])).toThrow(/probabilities\[1\] must be in \[0, 1\], got 1.2/);
    expect(() => binaryMetrics([0.5, Number.NaN], [1, 0])).toThrow(/probabilities\[1\] must be in \[0, 1\], got NaN/);
    expect(() => binaryMetrics([0.5, 0.4], [1, 2])).toThrow(/labels\[1\] must be 0 or 1, got 2/);
    expect(() => binaryMetrics([0.5], [1], 2)).toThrow(/threshold must be in \[0, 1\]/);
  });
});

describe('weightedMean', () => {
  const a = { p: [0.9, 0.8, 0.3, 0.2, 0.6], y: [1, 1, 1, 0, 0] };
  const b = { p: [0.7, 0.1, 0.4, 0.35, 0.2, 0.9, 0.05], y: [1, 0, 0, 0, 0, 0, 0] };
  const [ma, mb] = [binaryMetrics(a.p, a.y), binaryMetrics(b.p, b.y)];

  test('counts add up; accuracy, loss, sensitivity and specificity equal the pooled values', () => {
    const pooled = binaryMetrics([...a.p, ...b.p], [...a.y, ...b.y]);
    const w = weightedMean({ 'st-mary': ma, 'king-george': mb });
    expect(w).toMatchObject({ centres: 2, examples: 12, positives: 4, negatives: 8 });
    for (const k of ['accuracy', 'loss', 'sensitivity', 'specificity'] as const) expect(w[k]).toBeCloseTo(pooled[k]!, 12);
    expect(w.auc).toBeCloseTo((5 * ma.auc! + 7 * mb.auc!) / 12, 12);
    expect(weightedMean([ma, mb])).toEqual(w);
  });

  test('null metrics are skipped, and stay null (with a reason) when no centre defines them', () => {
    const onlyNeg = binaryMetrics([0.2, 0.6], [0, 0]);
    const w = weightedMean([ma, onlyNeg]);
    expect(w.auc).toBe(ma.auc);
    expect(w.sensitivity).toBe(ma.sensitivity);
    const none = weightedMean([onlyNeg, binaryMetrics([0.1], [0])]);
    expect(none).toMatchObject({ auc: null, sensitivity: null });
    expect(none.reasons).toEqual({ auc: 'no centre has both classes', sensitivity: 'no centre has positive (label 1) examples' });
  });

  test('clear errors', () => {
    expect(() => weightedMean([])).toThrow(/no centres given/);
    expect(() => weightedMean({ x: { ...ma, examples: 4 } })).toThrow(/metricsByCentre\["x"\]: positives \+ negatives = 5 but examples = 4/);
    expect(() => weightedMean([ma, { ...mb, negatives: -1 }])).toThrow(/metricsByCentre\[1\]\.negatives must be a non-negative integer/);
    expect(() => weightedMean([{ ...ma, auc: Number.NaN }])).toThrow(/metricsByCentre\[0\] has a non-finite metric/);
  });
});
