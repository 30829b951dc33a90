import { createRandomSource, patientSplit, testSplit, type SplitExample } from '../src/preprocess';

interface Ex extends SplitExample {
  readonly file: string;
}

/** `patients` patients, the first `malignant` of them malignant, 1–3 examples each; some malignant patients also have a benign view. */
function dataset(patients: number, malignant: number, seed = 1): Ex[] {
  const random = createRandomSource(seed);
  const out: Ex[] = [];
  for (let p = 0; p < patients; p++) {
    const views = 1 + Math.floor(random() * 3);
    for (let v = 0; v < views; v++) {
      // A malignant patient's second view is benign (the other breast): the patient is still malignant.
      const label: 0 | 1 = p < malignant && v !== 1 ? 1 : 0;
      out.push({ patientId: `P${String(p).padStart(3, '0')}`, label, file: `P${p}-${v}.dcm` });
    }
  }
  return out;
}

const patientsOf = (xs: readonly Ex[]) => new Set(xs.map((x) => x.patientId));
const malignantPatients = (xs: readonly Ex[]) => new Set(xs.filter((x) => x.label === 1).map((x) => x.patientId));

describe('patientSplit', () => {
  const data = dataset(40, 12);

  test('no patient on both sides, and every example lands on exactly one side', () => {
    const { train, validation } = patientSplit(data, { validationFraction: 0.25, seed: 7 });
    const t = patientsOf(train);
    for (const p of patientsOf(validation)) expect(t.has(p)).toBe(false);
    expect([...train, ...validation].map((x) => x.file).sort()).toEqual(data.map((x) => x.file).sort());
    // Examples keep their input order within a side.
    expect(train.map((x) => data.indexOf(x))).toEqual([...train.map((x) => data.indexOf(x))].sort((a, b) => a - b));
  });

  test('the fraction is of patients and is respected (per class, rounded)', () => {
    const { train, validation } = patientSplit(data, { validationFraction: 0.25, seed: 7 });
    expect(patientsOf(validation).size).toBe(Math.round(0.25 * 12) + Math.round(0.25 * 28));
    expect(patientsOf(train).size).toBe(40 - patientsOf(validation).size);
    expect(malignantPatients(validation).size).toBe(3);
  });

  test('deterministic by seed, independent of the input order, different for another seed', () => {
    const a = patientSplit(data, { validationFraction: 0.3, seed: 'centre-a' });
    const b = patientSplit([...data].reverse(), { validationFraction: 0.3, seed: 'centre-a' });
    const c = patientSplit(data, { validationFraction: 0.3, seed: 'centre-b' });
    expect([...patientsOf(b.validation)].sort()).toEqual([...patientsOf(a.validation)].sort());
    expect(a).toEqual(patientSplit(data, { validationFraction: 0.3, seed: 'centre-a' }));
    expect([...patientsOf(c.validation)].sort()).not.toEqual([...patientsOf(a.validation)].sort());
  });

  test('stratified: both sides get both classes whenever each class has ≥ 2 patients, even for a tiny fraction', () => {
    const small = dataset(6, 2);
    for (let seed = 0; seed < 50; seed++) {
      const { train, validation } = patientSplit(small, { validationFraction: 0.05, seed });
      expect(malignantPatients(validation).size).toBe(1);
      expect(malignantPatients(train).size).toBe(1);
      expect(patientsOf(validation).size).toBe(2); // one of each class
    }
  });

  test('unstratified, a rare class can end up on one side only', () => {
    const small = dataset(20, 2);
    const oneSided = Array.from({ length: 50 }, (_, seed) => patientSplit(small, { validationFraction: 0.2, seed, stratify: false })).filter(
      (s) => malignantPatients(s.validation).size === 0,
    );
    expect(oneSided.length).toBeGreaterThan(0);
    for (let seed = 0; seed < 50; seed++) {
      expect(malignantPatients(patientSplit(small, { validationFraction: 0.2, seed }).validation).size).toBe(1);
    }
  });

  test('too few patients per class to stratify: falls back to unstratified, both sides non-empty', () => {
    const two: Ex[] = [
      { patientId: 'a', label: 0, file: 'a' },
      { patientId: 'b', label: 1, file: 'b' },
      { patientId: 'b', label: 1, file: 'b2' },
    ];
    const { train, validation } = patientSplit(two, { validationFraction: 0.5, seed: 3 });
    expect(patientsOf(train).size).toBe(1);
    expect(patientsOf(validation).size).toBe(1);
  });

  test('clear errors', () => {
    for (const validationFraction of [0, 1, -0.1, 1.5, Number.NaN]) {
      expect(() => patientSplit(data, { validationFraction, seed: 1 })).toThrow(/validationFraction must be a number in \(0, 1\)/);
    }
    expect(() => patientSplit(data.filter((x) => x.patientId === 'P000'), { validationFraction: 0.2, seed: 1 })).toThrow(
      /at least 2 distinct patients.*got 1/,
    );
    expect(() => patientSplit([...data, { patientId: '', label: 0, file: 'x' }], { validationFraction: 0.2, seed: 1 })).toThrow(
      /examples\[\d+\]\.patientId must be a non-empty string/,
    );
    const badLabel = { patientId: 'X', label: 2, file: 'x' } as unknown as Ex;
    expect(() => patientSplit([badLabel, ...data], { validationFraction: 0.2, seed: 1 })).toThrow(/examples\[0\]\.label must be 0 or 1, got 2/);
    expect(() => patientSplit(data, { validationFraction: 0.2, seed: Number.NaN })).toThrow(/seed must be a finite number/);
  });
});

describe('testSplit', () => {
  const data = dataset(60, 20);

  test('three disjoint patient sets covering every example', () => {
    const { train, validation, test } = testSplit(data, { validationFraction: 0.2, testFraction: 0.2, seed: 5 });
    const [t, v, s] = [patientsOf(train), patientsOf(validation), patientsOf(test)];
    for (const p of v) expect(t.has(p) || s.has(p)).toBe(false);
    for (const p of s) expect(t.has(p)).toBe(false);
    expect(train.length + validation.length + test.length).toBe(data.length);
    expect(s.size).toBe(12);
    expect(v.size).toBe(12);
    for (const side of [train, validation, test]) expect(malignantPatients(side).size).toBeGreaterThan(0);
  });

  test('the test patients do not depend on the validation fraction', () => {
    const a = testSplit(data, { validationFraction: 0.1, testFraction: 0.25, seed: 5 });
    const b = testSplit(data, { validationFraction: 0.3, testFraction: 0.25, seed: 5 });
    expect(b.test).toEqual(a.test);
    expect(b.validation.length).toBeGreaterThan(a.validation.length);
  });

  test('errors: fractions leave no training patients, too few patients', () => {
    expect(() => testSplit(data, { validationFraction: 0.5, testFraction: 0.5, seed: 1 })).toThrow(/testFraction \+ validationFraction must be < 1/);
    expect(() => testSplit(data, { validationFraction: 0.2, testFraction: 0, seed: 1 })).toThrow(/testFraction must be a number in \(0, 1\)/);
    expect(() => testSplit(dataset(2, 1), { validationFraction: 0.2, testFraction: 0.2, seed: 1 })).toThrow(/at least 3 distinct patients/);
  });
});
