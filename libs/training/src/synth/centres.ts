/**
 * The five synthetic centres: the seed's table of public mammography datasets (benign/malignant counts), and a
 * fictional scanner per centre. Profiles differ in bit depth, contrast curve, offset, noise, rescale and window,
 * so that raw display histograms differ between centres by a monotone map that histogram matching can undo.
 */

export type ContrastCurve = { kind: 'gamma'; gamma: number } | { kind: 'log'; a: number } | { kind: 'sigmoid'; k: number; mid: number };

export interface ScannerProfile {
  manufacturer: string;
  model: string;
  description: string;
  bitsAllocated: 8 | 16;
  bitsStored: number;
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  curve: ContrastCurve;
  /** Modality values of air (tissue 0) and of the densest tissue (tissue 1). */
  low: number;
  high: number;
  /** Noise standard deviation as a fraction of high − low. */
  noise: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** In modality units; absent: readers fall back to the image's min–max. */
  window?: { center: number; width: number };
}

export interface CentreSpec {
  id: string;
  name: string;
  /** Benign / malignant counts of the seed's table. */
  table: { benign: number; malignant: number };
  scanner: ScannerProfile;
}

export const CENTRES: readonly CentreSpec[] = [
  {
    id: 'optimam-stge',
    name: "OPTIMAM – St George's (synthetic)",
    table: { benign: 5350, malignant: 9847 },
    scanner: {
      manufacturer: 'Northlight Medical',
      model: 'NL-M3000',
      description: '12-bit stored, gamma 0.75, low noise, window on the full range',
      bitsAllocated: 16,
      bitsStored: 12,
      photometric: 'MONOCHROME2',
      curve: { kind: 'gamma', gamma: 0.75 },
      low: 180,
      high: 3700,
      noise: 0.012,
      rescaleSlope: 1,
      rescaleIntercept: 0,
      window: { center: 1950, width: 3800 },
    },
  },
  {
    id: 'optimam-jarv',
    name: 'OPTIMAM – Jarvis (synthetic)',
    table: { benign: 4190, malignant: 15401 },
    scanner: {
      manufacturer: 'Halden Systems',
      model: 'HX-14',
      description: '14-bit stored, logarithmic response, medium noise, narrow window',
      bitsAllocated: 16,
      bitsStored: 14,
      photometric: 'MONOCHROME2',
      curve: { kind: 'log', a: 8 },
      low: 1200,
      high: 14500,
      noise: 0.02,
      rescaleSlope: 1,
      rescaleIntercept: 0,
      window: { center: 8400, width: 11000 },
    },
  },
  {
    id: 'inbreast',
    name: 'INbreast (synthetic)',
    table: { benign: 242, malignant: 100 },
    scanner: {
      manufacturer: 'Corvex Imaging',
      model: 'CX-FFDM',
      description: '14-bit stored, gamma 1.4 (flat fatty tissue), rescale slope 0.5 intercept -1000',
      bitsAllocated: 16,
      bitsStored: 14,
      photometric: 'MONOCHROME2',
      curve: { kind: 'gamma', gamma: 1.4 },
      low: -600,
      high: 6800,
      noise: 0.015,
      rescaleSlope: 0.5,
      rescaleIntercept: -1000,
      window: { center: 3300, width: 7800 },
    },
  },
  {
    id: 'bcdr',
    name: 'BCDR (synthetic)',
    table: { benign: 439, malignant: 105 },
    scanner: {
      manufacturer: 'Basalt Film Digitiser',
      model: 'BF-8',
      description: '8-bit digitised film, sigmoid film curve, high noise, no VOI window (min–max)',
      bitsAllocated: 8,
      bitsStored: 8,
      photometric: 'MONOCHROME2',
      curve: { kind: 'sigmoid', k: 7, mid: 0.5 },
      low: 14,
      high: 236,
      noise: 0.028,
      rescaleSlope: 1,
      rescaleIntercept: 0,
    },
  },
  {
    id: 'cmmd',
    name: 'CMMD (synthetic)',
    table: { benign: 1108, malignant: 4090 },
    scanner: {
      manufacturer: 'Meridian Imaging',
      model: 'MX-16',
      description: '16-bit stored MONOCHROME1 (high = dark), gamma 0.55, low noise, rescale slope 2 intercept -32768',
      bitsAllocated: 16,
      bitsStored: 16,
      photometric: 'MONOCHROME1',
      curve: { kind: 'gamma', gamma: 0.55 },
      low: 2000,
      high: 60000,
      noise: 0.01,
      rescaleSlope: 2,
      rescaleIntercept: -32768,
      window: { center: 32000, width: 62000 },
    },
  },
];

/** The smallest centre of the table gets at least this many images at scale 1. */
export const MIN_SMALLEST_CENTRE = 60;

export interface CountPlan {
  id: string;
  benign: number;
  malignant: number;
  /** Before --max-per-centre. */
  uncapped: { benign: number; malignant: number };
  capped: boolean;
}

/**
 * Per-centre example counts: the table scaled so that its smallest centre has MIN_SMALLEST_CENTRE × scale examples,
 * each class at least `minPerClass`; centres above `maxPerCentre` are cut to it keeping their benign/malignant ratio.
 */
export function planCounts(scale: number, maxPerCentre: number | undefined, minPerClass = 2): CountPlan[] {
  const smallest = Math.min(...CENTRES.map((c) => c.table.benign + c.table.malignant));
  const factor = (scale * MIN_SMALLEST_CENTRE) / smallest;
  return CENTRES.map((c) => {
    const benign = Math.max(minPerClass, Math.round(c.table.benign * factor));
    const malignant = Math.max(minPerClass, Math.round(c.table.malignant * factor));
    const uncapped = { benign, malignant };
    if (maxPerCentre === undefined || benign + malignant <= maxPerCentre) return { id: c.id, benign, malignant, uncapped, capped: false };
    const cappedBenign = Math.min(maxPerCentre - minPerClass, Math.max(minPerClass, Math.round((maxPerCentre * benign) / (benign + malignant))));
    return { id: c.id, benign: cappedBenign, malignant: maxPerCentre - cappedBenign, uncapped, capped: true };
  });
}

/** The contrast curve: a monotone map of [0, 1] onto [0, 1]. */
export function curveFunction(curve: ContrastCurve): (t: number) => number {
  switch (curve.kind) {
    case 'gamma':
      return (t) => t ** curve.gamma;
    case 'log': {
      const norm = Math.log1p(curve.a);
      return (t) => Math.log1p(curve.a * t) / norm;
    }
    case 'sigmoid': {
      const s = (t: number) => 1 / (1 + Math.exp(-curve.k * (t - curve.mid)));
      const lo = s(0);
      const hi = s(1);
      return (t) => (s(t) - lo) / (hi - lo);
    }
  }
}
