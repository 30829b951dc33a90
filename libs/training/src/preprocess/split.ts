import { createRandomSource, deriveSeed, shuffleInPlace } from './random';

/** What the split needs of an example; the data readers' examples (`{ file, label, patientId, view?, image }`) fit. */
export interface SplitExample {
  readonly patientId: string;
  /** 0 benign, 1 malignant. */
  readonly label: 0 | 1;
}

export interface PatientSplitOptions {
  /** Share of the *patients* (not of the examples) held out for validation, in (0, 1). */
  readonly validationFraction: number;
  /** Same seed + same examples (in any order) → same split. */
  readonly seed: number | string;
  /**
   * Default true: split the benign and the malignant patients separately, so each side gets its share of
   * each class, and at least one patient of a class whenever that class has ≥ 2 patients. A patient counts
   * as malignant when any of their examples is (one malignant breast makes a malignant patient). When the
   * classes are too small for every side to get a patient this way, the split falls back to unstratified.
   */
  readonly stratify?: boolean;
}

export interface TestSplitOptions extends PatientSplitOptions {
  /** Share of the patients held out for the final test (the `compare` command's held-out set), in (0, 1). */
  readonly testFraction: number;
}

export interface PatientSplit<T> {
  readonly train: T[];
  readonly validation: T[];
}

export interface PatientTestSplit<T> extends PatientSplit<T> {
  readonly test: T[];
}

/**
 * Train/validation split at patient level: every example of a patient lands on the same side. Examples
 * keep their input order within each side. Held-out sizes are `round(fraction × patients)` per stratum,
 * clamped so that each side gets at least one patient when the stratum has two, and train keeps at least one.
 */
export function patientSplit<T extends SplitExample>(examples: readonly T[], options: PatientSplitOptions): PatientSplit<T> {
  checkFraction(options.validationFraction, 'validationFraction');
  const [train, validation] = splitByPatient('patientSplit', examples, [options.validationFraction], options);
  return { train: train!, validation: validation! };
}

/**
 * Three-way split at patient level (train / validation / test). The test patients depend only on the
 * examples, `seed`, `testFraction` and `stratify`, not on `validationFraction`: the trainer (train +
 * validation) and the `compare` command (test) agree on the held-out set as long as both call `testSplit`
 * with the same seed and test fraction. Do not mix it with `patientSplit` on the same data: that one
 * knows nothing of the test set and would train on it.
 */
export function testSplit<T extends SplitExample>(examples: readonly T[], options: TestSplitOptions): PatientTestSplit<T> {
  checkFraction(options.testFraction, 'testFraction');
  checkFraction(options.validationFraction, 'validationFraction');
  if (options.testFraction + options.validationFraction >= 1) {
    throw new RangeError(
      `testFraction + validationFraction must be < 1 to leave patients for training, got ${options.testFraction} + ${options.validationFraction}`,
    );
  }
  const [train, test, validation] = splitByPatient('testSplit', examples, [options.testFraction, options.validationFraction], options);
  return { train: train!, validation: validation!, test: test! };
}

function checkFraction(value: number, field: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value >= 1) {
    throw new RangeError(`${field} must be a number in (0, 1), exclusive, got ${String(value)}`);
  }
}

/** Returns `[train, heldOut[0], heldOut[1], …]`. */
function splitByPatient<T extends SplitExample>(
  fn: string,
  examples: readonly T[],
  heldOutFractions: readonly number[],
  options: PatientSplitOptions,
): T[][] {
  if (!Array.isArray(examples)) throw new TypeError(`${fn}: examples must be an array`);
  // Patient → patient label (max over their examples).
  const patientLabel = new Map<string, 0 | 1>();
  examples.forEach((ex, i) => {
    if (typeof ex.patientId !== 'string' || ex.patientId === '') {
      throw new TypeError(`${fn}: examples[${i}].patientId must be a non-empty string, got ${JSON.stringify(ex.patientId)}`);
    }
    if (ex.label !== 0 && ex.label !== 1) throw new RangeError(`${fn}: examples[${i}].label must be 0 or 1, got ${String(ex.label)}`);
    patientLabel.set(ex.patientId, ex.label === 1 || patientLabel.get(ex.patientId) === 1 ? 1 : 0);
  });
  const parts = heldOutFractions.length + 1;
  if (patientLabel.size < parts) {
    throw new RangeError(
      `${fn}: need at least ${parts} distinct patients for ${parts} parts, got ${patientLabel.size}` +
        ` (${examples.length} examples); with fewer there is no patient-level split`,
    );
  }
  // Sorted ids: the split does not depend on the input order.
  const ids = [...patientLabel.keys()].sort();
  const stratified = options.stratify ?? true;
  let assignment = stratified
    ? assign(
        [0, 1].map((label) => ids.filter((id) => patientLabel.get(id) === label)),
        heldOutFractions,
        options.seed,
      )
    : null;
  // Stratified, some held-out part may stay empty (e.g. one patient per class); unstratified it cannot.
  if (assignment === null || assignment.counts.some((c, k) => k > 0 && c === 0)) assignment = assign([ids], heldOutFractions, options.seed);

  const out: T[][] = Array.from({ length: parts }, () => []);
  for (const ex of examples) out[assignment.partOf.get(ex.patientId)!]!.push(ex);
  return out;
}

/** Shuffles each stratum (own derived seed) and deals the first patients to the held-out parts. */
function assign(
  strata: readonly string[][],
  heldOutFractions: readonly number[],
  seed: number | string,
): { partOf: Map<string, number>; counts: number[] } {
  const partOf = new Map<string, number>();
  const counts = new Array<number>(heldOutFractions.length + 1).fill(0);
  strata.forEach((stratum, s) => {
    const order = shuffleInPlace([...stratum], createRandomSource(deriveSeed(seed, 'patient-split', strata.length, s)));
    let next = 0;
    heldOutFractions.forEach((fraction, k) => {
      const remaining = order.length - next;
      // ≥ 1 when two patients remain (one for this part, one for train); train always keeps ≥ 1.
      const n = Math.max(remaining >= 2 ? 1 : 0, Math.min(Math.round(fraction * order.length), remaining - 1));
      for (let i = 0; i < n; i++) partOf.set(order[next + i]!, k + 1);
      counts[k + 1]! += n;
      next += n;
    });
    for (let i = next; i < order.length; i++) partOf.set(order[i]!, 0);
    counts[0]! += order.length - next;
  });
  return { partOf, counts };
}
