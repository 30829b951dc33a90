import { curveFunction, type ScannerProfile } from './centres';
import type { Rng } from './random';

// Per-pixel loops call these through module-scope aliases: a global lookup per call is slow inside jest's vm sandbox.
const { sqrt, exp, floor, round, min, max, sin, cos, atan2, abs } = Math;

/**
 * Mammography-like images: a breast (half-ellipse of tissue against air, chest wall on the left for L and on the
 * right for R, a pectoral muscle in MLO views), fibroglandular texture from smoothed noise, and one lesion:
 * benign = round/oval with a circumscribed margin, malignant = irregular with spicules. About a fifth of the
 * lesions are hard cases (faint, lobulated or blurred benign; faint, nearly round, few short spicules malignant).
 * Tissue is rendered in [0, 1] (0 air, 1 densest), then a centre's scanner profile turns it into stored values.
 */

export interface LesionShape {
  malignant: boolean;
  hard: boolean;
  /** Mean radius as a fraction of the image size. */
  radius: number;
  /** Added tissue density at the centre. */
  contrast: number;
  /** Long / short axis of the base ellipse (≥ 1). */
  aspect: number;
  /** Margin width in pixels at 128 px (scaled with the image): small = circumscribed. */
  margin: number;
  /** Boundary irregularity: radius × (1 + Σ amp cos(kθ + phase)). */
  harmonics: { k: number; amp: number }[];
  spicules: { count: number; length: [number, number]; strength: [number, number] };
}

/** One breast's lesion; both views of that breast show it (at view-specific positions and angles). */
export function lesionShape(rng: Rng, malignant: boolean): LesionShape {
  const hard = rng.chance(0.2);
  // Same size and contrast ranges for both classes: neither alone gives the label away, the margin does.
  // Sizes as in a region of interest around the lesion (the seed's setting), so a small CNN at 64 px can see
  // the margin: 9–19 px radius at 128 px.
  const common = { malignant, hard, radius: rng.uniform(0.07, 0.15), contrast: hard ? rng.uniform(0.12, 0.2) : rng.uniform(0.2, 0.35) };
  if (malignant) {
    return {
      ...common,
      aspect: rng.uniform(1, 1.3),
      margin: hard ? rng.uniform(1, 1.6) : rng.uniform(1.2, 2.2),
      harmonics: (hard ? [3, 5] : [3, 4, 5, 6, 7]).map((k) => ({ k, amp: hard ? rng.uniform(0.05, 0.1) : rng.uniform(0.08, 0.16) })),
      spicules: hard ? { count: rng.int(3, 6), length: [0.5, 1.2], strength: [0.5, 0.8] } : { count: rng.int(8, 16), length: [1.2, 2.8], strength: [0.9, 1.4] },
    };
  }
  const lobulated = hard && rng.chance(0.6);
  // Overlapping tissue can look like a few short strands.
  const shadows = hard && rng.chance(0.5);
  return {
    ...common,
    aspect: rng.uniform(1, 1.6),
    margin: hard ? rng.uniform(1.8, 3) : rng.uniform(0.5, 1),
    harmonics: lobulated ? [2, 3, 4].map((k) => ({ k, amp: rng.uniform(0.04, 0.1) })) : [{ k: 2, amp: rng.uniform(0, 0.03) }],
    spicules: shadows ? { count: rng.int(1, 3), length: [0.3, 0.7], strength: [0.25, 0.45] } : { count: 0, length: [0, 0], strength: [0, 0] },
  };
}

export interface ViewSpec {
  size: number;
  laterality: 'L' | 'R';
  view: 'CC' | 'MLO';
  /** Breast density bias: about −0.6 (fatty) to 1.2 (dense). */
  density: number;
  lesion: LesionShape;
}

function gaussianField(rng: Rng, n: number): Float32Array {
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = rng.noise();
  return f;
}

/** One line of a box blur with clamped edges (running sum): `len` values from `start`, `stride` apart. */
function blurLine(from: Float32Array, to: Float32Array, start: number, stride: number, len: number, r: number): void {
  const norm = 1 / (2 * r + 1);
  const last = start + (len - 1) * stride;
  const at = (i: number) => (i < 0 ? start : i >= len ? last : start + i * stride);
  let acc = 0;
  for (let k = -r; k <= r; k++) acc += from[at(k)]!;
  // Clamping is only needed within r of either end; the middle runs without it.
  const edge = min(len, r + 1);
  const tail = max(edge, len - r - 1);
  let i = 0;
  for (; i < edge; i++) {
    to[start + i * stride] = acc * norm;
    acc += from[at(i + r + 1)]! - from[at(i - r)]!;
  }
  for (let p = start + i * stride; i < tail; i++, p += stride) {
    to[p] = acc * norm;
    acc += from[p + (r + 1) * stride]! - from[p - r * stride]!;
  }
  for (; i < len; i++) {
    to[start + i * stride] = acc * norm;
    acc += from[at(i + r + 1)]! - from[at(i - r)]!;
  }
}

/** Separable box blur with clamped edges. */
function boxBlur(src: Float32Array, w: number, h: number, r: number): Float32Array {
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) blurLine(src, tmp, y * w, 1, w, r);
  for (let x = 0; x < w; x++) blurLine(tmp, out, x, w, h, r);
  return out;
}

/** Smoothed noise with zero mean and unit standard deviation. */
function smoothNoise(rng: Rng, size: number, radius: number): Float32Array {
  const f = boxBlur(boxBlur(gaussianField(rng, size * size), size, size, radius), size, size, radius);
  let sum = 0;
  let sq = 0;
  for (const v of f) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / f.length;
  const sd = sqrt(max(1e-12, sq / f.length - mean * mean));
  for (let i = 0; i < f.length; i++) f[i] = (f[i]! - mean) / sd;
  return f;
}

interface BreastGeometry {
  /** Depth (chest wall → nipple) and vertical semi-axes, vertical centre; fractions of the size. */
  ax: number;
  ay: number;
  cy: number;
  /** MLO pectoral muscle: width at the top and height along the chest wall (0 for CC). */
  pectoralWidth: number;
  pectoralHeight: number;
}

function breastGeometry(rng: Rng, view: 'CC' | 'MLO'): BreastGeometry {
  if (view === 'CC') return { ax: rng.uniform(0.55, 0.85), ay: rng.uniform(0.36, 0.46), cy: rng.uniform(0.46, 0.54), pectoralWidth: 0, pectoralHeight: 0 };
  return { ax: rng.uniform(0.6, 0.85), ay: rng.uniform(0.42, 0.5), cy: rng.uniform(0.5, 0.58), pectoralWidth: rng.uniform(0.16, 0.3), pectoralHeight: rng.uniform(0.45, 0.75) };
}

/** Depth from the chest wall (0) towards the nipple, as a fraction of the size. */
function depthOf(x: number, size: number, laterality: 'L' | 'R'): number {
  const u = (x + 0.5) / size;
  return laterality === 'L' ? u : 1 - u;
}

function inPectoral(g: BreastGeometry, depth: number, v: number): boolean {
  return g.pectoralWidth > 0 && depth < g.pectoralWidth * (1 - v / g.pectoralHeight);
}

/** Lesion density at (px, py) relative to its centre, in pixels, before the contrast factor (0..1). */
function lesionAt(shape: LesionShape, radiusPx: number, unit: number, phases: Float32Array, rotation: number, spicules: Spicule[], px: number, py: number): number {
  const rho = sqrt(px * px + py * py);
  let value = 0;
  // The body reaches at most radius × aspect × (1 + Σ amp) plus half the margin.
  const reach = radiusPx * shape.aspect * (1 + shape.harmonics.reduce((n, h) => n + h.amp, 0)) + shape.margin * unit;
  if (rho < reach) {
    const theta = atan2(py, px) - rotation;
    const ca = cos(theta) / shape.aspect;
    const sa = sin(theta);
    let rb = radiusPx / sqrt(ca * ca + sa * sa);
    let wobble = 1;
    shape.harmonics.forEach((h, i) => (wobble += h.amp * cos(h.k * theta + phases[i]!)));
    rb *= wobble;
    const body = min(1, max(0, 0.5 - (rho - rb) / (shape.margin * unit)));
    const inner = rho < rb ? sqrt(1 - (rho / rb) ** 2) : 0;
    value = body * (0.75 + 0.25 * inner);
  }
  for (const sp of spicules) {
    const along = px * sp.dx + py * sp.dy - sp.base;
    if (along < 0 || along > sp.length) continue;
    const perp = abs(px * sp.dy - py * sp.dx);
    const fade = 1 - along / sp.length;
    const half = sp.width * fade + 0.35 * unit;
    if (perp < half) value = max(value, sp.strength * fade ** 0.7 * (1 - perp / half));
  }
  return value;
}

interface Spicule {
  dx: number;
  dy: number;
  base: number;
  length: number;
  width: number;
  strength: number;
}

/** Renders one view's tissue map: row-major, size × size, values in [0, 1]. */
export function renderTissue(rng: Rng, spec: ViewSpec): Float32Array {
  const { size, laterality, lesion } = spec;
  const unit = size / 128;
  const g = breastGeometry(rng, spec.view);
  const coarse = smoothNoise(rng, size, max(2, round(size / 22)));
  const medium = smoothNoise(rng, size, max(1, round(size / 64)));
  const fine = gaussianField(rng, size * size);
  const t = new Float32Array(size * size);
  const radial = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const v = (y + 0.5) / size;
    const dy = (v - g.cy) / g.ay;
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const depth = depthOf(x, size, laterality);
      const r = sqrt((depth / g.ax) ** 2 + dy * dy);
      radial[i] = r;
      if (r >= 1) continue; // air
      const edge = (1 - r) / 0.08;
      const thick = edge >= 1 ? 1 : edge ** 0.6;
      const d = 0.7 * coarse[i]! + 0.45 * medium[i]! + spec.density - 1.6 * r * r;
      const glandular = 1 / (1 + exp(-2.2 * d));
      let tissue = thick * (0.3 + 0.4 * glandular) + 0.015 * fine[i]!;
      if (r > 0.97) tissue += 0.05;
      if (inPectoral(g, depth, v)) tissue = max(tissue, thick * (0.72 + 0.04 * medium[i]!));
      t[i] = tissue;
    }
  }
  // The lesion: somewhere inside the breast, outside the pectoral muscle.
  let depth = 0.4 * g.ax;
  let v = g.cy;
  for (let attempt = 0; attempt < 50; attempt++) {
    const cd = rng.uniform(0.15, 0.75) * g.ax;
    const cv = g.cy + rng.uniform(-0.65, 0.65) * g.ay;
    const r = sqrt((cd / g.ax) ** 2 + ((cv - g.cy) / g.ay) ** 2);
    if (r < 0.72 && !inPectoral(g, cd - lesion.radius, cv - lesion.radius)) {
      depth = cd;
      v = cv;
      break;
    }
  }
  const lx = laterality === 'L' ? depth * size : (1 - depth) * size;
  const ly = v * size;
  const radiusPx = lesion.radius * size;
  const phases = Float32Array.from(lesion.harmonics, () => rng.uniform(0, 2 * Math.PI));
  const rotation = rng.uniform(0, Math.PI);
  const spicules: Spicule[] = Array.from({ length: lesion.spicules.count }, () => {
    const angle = rng.uniform(0, 2 * Math.PI);
    return {
      dx: cos(angle),
      dy: sin(angle),
      base: radiusPx * 0.8,
      length: radiusPx * rng.uniform(...lesion.spicules.length),
      width: rng.uniform(1.2, 2) * unit, // still visible at half resolution
      strength: rng.uniform(...lesion.spicules.strength),
    };
  });
  const reach = Math.ceil(radiusPx * (1.6 + lesion.spicules.length[1]) + 3 * lesion.margin * unit + 2);
  for (let y = max(0, floor(ly - reach)); y < min(size, Math.ceil(ly + reach)); y++) {
    for (let x = max(0, floor(lx - reach)); x < min(size, Math.ceil(lx + reach)); x++) {
      const i = y * size + x;
      if (radial[i]! >= 1) continue;
      const value = lesionAt(lesion, radiusPx, unit, phases, rotation, spicules, x + 0.5 - lx, y + 0.5 - ly);
      t[i] = t[i]! + lesion.contrast * value * min(1, (1 - radial[i]!) / 0.08);
    }
  }
  for (let i = 0; i < t.length; i++) t[i] = min(1, max(0, t[i]!));
  return t;
}

const CURVE_STEPS = 4096;
const curveTables = new WeakMap<ScannerProfile, Float64Array>();

/** The profile's contrast curve at CURVE_STEPS + 1 points (and one more for interpolation at 1), computed once. */
function curveTable(profile: ScannerProfile): Float64Array {
  let table = curveTables.get(profile);
  if (table === undefined) {
    const curve = curveFunction(profile.curve);
    table = Float64Array.from({ length: CURVE_STEPS + 2 }, (_, i) => curve(min(1, i / CURVE_STEPS)));
    curveTables.set(profile, table);
  }
  return table;
}

/** Stored pixel values as the centre's scanner would write them (contrast curve interpolated in a table). */
export function scannerPixels(rng: Rng, tissue: Float32Array, profile: ScannerProfile): Uint8Array | Uint16Array {
  const table = curveTable(profile);
  const span = profile.high - profile.low;
  const top = 2 ** profile.bitsStored - 1;
  const out = profile.bitsAllocated === 8 ? new Uint8Array(tissue.length) : new Uint16Array(tissue.length);
  const invert = profile.photometric === 'MONOCHROME1';
  for (let i = 0; i < tissue.length; i++) {
    const at = tissue[i]! * CURVE_STEPS;
    const k = floor(at);
    const c = table[k]! + (table[k + 1]! - table[k]!) * (at - k);
    const modality = (invert ? profile.high - span * c : profile.low + span * c) + rng.noise() * profile.noise * span;
    out[i] = min(top, max(0, round((modality - profile.rescaleIntercept) / profile.rescaleSlope)));
  }
  return out;
}
