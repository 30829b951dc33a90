import { Rng } from './random';

/**
 * Synthetic tabular centres: 10 radiomics-like features from correlated latent normals; the label is drawn from a
 * nonlinear score (interactions, a sine, a square) so a linear model cannot reach the Bayes rate; each centre
 * sees the features through its own per-feature scale and offset (a covariate shift), one feature in other units.
 */

export const TABULAR_FEATURES = [
  'mass_size_mm',
  'mass_density',
  'margin_sharpness',
  'spiculation',
  'eccentricity',
  'compactness',
  'texture_contrast',
  'texture_entropy',
  'age',
  'breast_density',
] as const;

const BASE_MEAN = [12, 0.5, 0.6, 0.3, 0.5, 0.7, 40, 5, 56, 2.5];
const BASE_SD = [5, 0.15, 0.2, 0.2, 0.15, 0.15, 12, 1, 10, 0.8];

function latent(rng: Rng): number[] {
  const z = TABULAR_FEATURES.map(() => rng.normal());
  z[5] = z[5]! + 0.5 * z[4]!;
  z[7] = z[7]! + 0.6 * z[6]!;
  return z;
}

/** The probability of malignancy given the latent features. */
export function malignancyProbability(z: readonly number[]): number {
  const [z0, z1, z2, z3, , z5, z6, , z8, z9] = z as [number, number, number, number, number, number, number, number, number, number];
  const score = 1.1 * z3 - 0.9 * z2 + 0.7 * z0 * z5 + 0.8 * Math.sin(1.7 * z6) + 0.5 * (z8 * z8 - 1) + 0.4 * z1 - 0.3 * z9;
  return 1 / (1 + Math.exp(-1.8 * score));
}

export interface TabularRows {
  header: string[];
  rows: (string | number)[][];
}

/** `benign` + `malignant` rows for a centre (patient_id, the features, label), mixed in drawing order. */
export function tabularCentre(seed: number, centreId: string, benign: number, malignant: number): TabularRows {
  const shift = Rng.derive(seed, 'tabular', centreId, 'shift');
  const scales = TABULAR_FEATURES.map(() => Math.exp(0.25 * shift.normal()));
  const offsets = TABULAR_FEATURES.map(() => 0.5 * shift.normal());
  const otherUnits = shift.int(0, TABULAR_FEATURES.length - 1);
  const rng = Rng.derive(seed, 'tabular', centreId, 'rows');
  const want = [benign, malignant];
  const rows: (string | number)[][] = [];
  const digits = Math.max(4, String(benign + malignant).length);
  for (let drawn = 0; want[0]! + want[1]! > 0; drawn++) {
    if (drawn > 1000 * (benign + malignant + 10)) throw new Error(`tabular synth for ${centreId}: cannot fill ${benign}/${malignant}`);
    const z = latent(rng);
    const label = rng.chance(malignancyProbability(z)) ? 1 : 0;
    if (want[label] === 0) continue;
    want[label]!--;
    const features = z.map((v, j) => {
      const x = BASE_MEAN[j]! + BASE_SD[j]! * (v * scales[j]! + offsets[j]!);
      return (j === otherUnits ? x * 10 : x).toFixed(4);
    });
    rows.push([`${centreId}-p${String(rows.length + 1).padStart(digits, '0')}`, ...features, label === 1 ? 'malignant' : 'benign']);
  }
  return { header: ['patient_id', ...TABULAR_FEATURES, 'label'], rows };
}
