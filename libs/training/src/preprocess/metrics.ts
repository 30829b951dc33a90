/**
 * Per-centre evaluation of a binary classifier (1 = malignant).
 *
 * Metrics that a one-class evaluation set cannot define (AUC needs both classes, sensitivity needs
 * positives, specificity needs negatives) are `null`, with the reason in `reasons`: null rather than NaN
 * because the type then forces callers to handle it, JSON keeps it (JSON.stringify turns NaN into null
 * anyway, silently), and NaN compares false with everything, so it slips through `>`-based checks.
 */

/** The part of the metrics that `weightedMean` needs; what a centre reports. */
export interface MetricsSummary {
  readonly examples: number;
  readonly positives: number;
  readonly negatives: number;
  readonly accuracy: number;
  /** ROC AUC; null when one class is absent. */
  readonly auc: number | null;
  /** True-positive rate; null without positives. */
  readonly sensitivity: number | null;
  /** True-negative rate; null without negatives. */
  readonly specificity: number | null;
  /** Mean binary cross-entropy (natural log), probabilities clipped to [1e-7, 1 − 1e-7]. */
  readonly loss: number;
  /** Why each null metric is null. */
  readonly reasons: Partial<Record<NullableMetric, string>>;
}

export type NullableMetric = 'auc' | 'sensitivity' | 'specificity';

export interface BinaryMetrics extends MetricsSummary {
  readonly threshold: number;
  readonly confusion: { readonly tp: number; readonly fp: number; readonly tn: number; readonly fn: number };
}

/** Clipping of probabilities in the loss, as Keras' epsilon: a confident mistake costs at most −ln(1e-7) ≈ 16.1. */
export const LOSS_EPSILON = 1e-7;

/**
 * Metrics of predicted probabilities of class 1 against 0/1 labels. An example is predicted positive when
 * its probability is ≥ `threshold`. AUC is the Mann–Whitney U statistic over average ranks (ties count ½),
 * O(n log n). Throws on empty input, length mismatch, probabilities outside [0, 1] and labels other than 0/1.
 */
export function binaryMetrics(
  probabilities: Float32Array | Float64Array | readonly number[],
  labels: ArrayLike<number>,
  threshold = 0.5,
): BinaryMetrics {
  const n = probabilities.length;
  if (n === 0) throw new RangeError('binaryMetrics: probabilities is empty; there is nothing to evaluate');
  if (labels.length !== n) throw new RangeError(`binaryMetrics: labels has ${labels.length} values but probabilities has ${n}`);
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw new RangeError(`binaryMetrics: threshold must be in [0, 1], got ${String(threshold)}`);
  }
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  let lossSum = 0;
  for (let i = 0; i < n; i++) {
    const p = probabilities[i]!;
    const y = labels[i]!;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`binaryMetrics: probabilities[${i}] must be in [0, 1], got ${String(p)}`);
    if (y !== 0 && y !== 1) throw new RangeError(`binaryMetrics: labels[${i}] must be 0 or 1, got ${String(y)}`);
    const positive = p >= threshold;
    if (y === 1) {
      if (positive) tp++;
      else fn++;
      lossSum -= Math.log(Math.max(p, LOSS_EPSILON));
    } else {
      if (positive) fp++;
      else tn++;
      lossSum -= Math.log(Math.max(1 - p, LOSS_EPSILON));
    }
  }
  const positives = tp + fn;
  const negatives = tn + fp;
  const reasons: Partial<Record<NullableMetric, string>> = {};
  if (positives === 0) {
    reasons.auc = 'no positive (label 1) examples';
    reasons.sensitivity = 'no positive (label 1) examples';
  }
  if (negatives === 0) {
    reasons.auc = 'no negative (label 0) examples';
    reasons.specificity = 'no negative (label 0) examples';
  }
  return {
    examples: n,
    positives,
    negatives,
    accuracy: (tp + tn) / n,
    auc: positives > 0 && negatives > 0 ? rocAuc(probabilities, labels, positives, negatives) : null,
    sensitivity: positives > 0 ? tp / positives : null,
    specificity: negatives > 0 ? tn / negatives : null,
    loss: lossSum / n,
    reasons,
    threshold,
    confusion: { tp, fp, tn, fn },
  };
}

/** Mann–Whitney: (sum of the positives' ranks − P(P+1)/2) / (P·N), ties given their average rank. */
function rocAuc(probabilities: ArrayLike<number>, labels: ArrayLike<number>, positives: number, negatives: number): number {
  const n = probabilities.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => probabilities[a]! - probabilities[b]!);
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    let pos = 0;
    while (j < n && probabilities[order[j]!] === probabilities[order[i]!]) pos += labels[order[j++]!]!;
    // Ranks i+1 … j share their mean (i + 1 + j) / 2.
    rankSum += (pos * (i + 1 + j)) / 2;
    i = j;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export interface WeightedMetrics extends Omit<MetricsSummary, 'reasons'> {
  readonly centres: number;
  readonly reasons: Partial<Record<NullableMetric, string>>;
}

/**
 * Combines the centres' metrics. Counts add up. Accuracy and loss are weighted by examples, sensitivity by
 * positives and specificity by negatives: exactly the pooled values, as if one evaluation set. AUC is
 * weighted by examples over the centres where it is defined: an approximation (the pooled AUC also ranks
 * one centre's positives against another's negatives, which the centres' AUCs do not contain). A metric
 * no centre defines stays null.
 */
export function weightedMean(metricsByCentre: readonly MetricsSummary[] | Readonly<Record<string, MetricsSummary>>): WeightedMetrics {
  const entries: Array<[string, MetricsSummary]> = Array.isArray(metricsByCentre)
    ? metricsByCentre.map((m, i) => [`[${i}]`, m])
    : Object.entries(metricsByCentre);
  if (entries.length === 0) throw new RangeError('weightedMean: no centres given');
  let examples = 0;
  let positives = 0;
  let negatives = 0;
  for (const [centre, m] of entries) {
    for (const field of ['examples', 'positives', 'negatives'] as const) {
      if (!Number.isInteger(m[field]) || m[field] < 0) throw new RangeError(`weightedMean: metricsByCentre${key(centre)}.${field} must be a non-negative integer, got ${m[field]}`);
    }
    if (m.positives + m.negatives !== m.examples) {
      throw new RangeError(`weightedMean: metricsByCentre${key(centre)}: positives + negatives = ${m.positives + m.negatives} but examples = ${m.examples}`);
    }
    examples += m.examples;
    positives += m.positives;
    negatives += m.negatives;
  }
  const mean = (pick: (m: MetricsSummary) => number | null, weight: (m: MetricsSummary) => number): number | null => {
    let sum = 0;
    let total = 0;
    for (const [centre, m] of entries) {
      const value = pick(m);
      const w = weight(m);
      if (value === null || w === 0) continue;
      if (!Number.isFinite(value)) throw new RangeError(`weightedMean: metricsByCentre${key(centre)} has a non-finite metric (${value})`);
      sum += w * value;
      total += w;
    }
    return total > 0 ? sum / total : null;
  };
  const reasons: Partial<Record<NullableMetric, string>> = {};
  const auc = mean((m) => m.auc, (m) => m.examples);
  const sensitivity = mean((m) => m.sensitivity, (m) => m.positives);
  const specificity = mean((m) => m.specificity, (m) => m.negatives);
  if (auc === null) reasons.auc = 'no centre has both classes';
  if (sensitivity === null) reasons.sensitivity = 'no centre has positive (label 1) examples';
  if (specificity === null) reasons.specificity = 'no centre has negative (label 0) examples';
  const accuracy = mean((m) => m.accuracy, (m) => m.examples);
  const loss = mean((m) => m.loss, (m) => m.examples);
  if (accuracy === null || loss === null) throw new RangeError('weightedMean: the centres have no examples between them');
  return { centres: entries.length, examples, positives, negatives, accuracy, auc, sensitivity, specificity, loss, reasons };
}

function key(centre: string): string {
  return centre.startsWith('[') ? centre : `[${JSON.stringify(centre)}]`;
}
