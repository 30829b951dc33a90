import { existsSync } from 'node:fs';
import path from 'node:path';
import { DatasetError, scanImageDataset, loadTabularDataset, type DataIssue, type OnDataError } from '../data';
import { deriveSeed, preprocessImage, testSplit, type LandmarkConfig, type Normalisation } from '../preprocess';

/**
 * A centre's data made ready for a model, once per (folder, preparation): images decoded, histogram-matched,
 * resized and normalised (or table rows standardised), split at patient level into train / validation /
 * test, packed into contiguous arrays. The centre-agent keeps it between rounds.
 */

/** How every centre prepares its data: part of the experiment definition (DataSpec in fl.proto). */
export interface DataPreparation {
  /** [height, width, channels] for images (channels 1), [features] for tables. */
  inputShape: number[];
  landmarks?: LandmarkConfig;
  normalisation: 'zscore' | 'minmax' | 'none';
  validationFraction: number;
  testFraction: number;
  splitSeed: number;
  augment: boolean;
}

export interface PreparedSplit {
  /** n × (product of inputShape) values, example after example. */
  x: Float32Array;
  /** 0 benign, 1 malignant. */
  y: Uint8Array;
  n: number;
  patients: number;
}

export interface PreparedDataset {
  centreId: string;
  kind: 'image' | 'tabular';
  inputShape: number[];
  train: PreparedSplit;
  validation: PreparedSplit;
  test: PreparedSplit;
  /** Rows and files left out, each with file, line and reason. */
  issues: DataIssue[];
}

export interface PrepareOptions {
  onError: OnDataError;
  report?: (issue: DataIssue) => void;
  progress?: (done: number, total: number) => void;
}

interface Row {
  key: string;
  patientId: string;
  label: 0 | 1;
  x: Float32Array;
}

const normalisationOf = (p: DataPreparation): Normalisation => ({ method: p.normalisation }) as Normalisation;

/** Image centres have labels.csv; tabular ones data.csv. */
export function centreKind(dir: string): 'image' | 'tabular' {
  if (existsSync(path.join(dir, 'labels.csv'))) return 'image';
  if (existsSync(path.join(dir, 'data.csv'))) return 'tabular';
  throw new DatasetError({ file: dir, reason: 'not a centre folder: it has neither labels.csv (images) nor data.csv (table)' });
}

export async function prepareCentreData(dir: string, prep: DataPreparation, options: PrepareOptions): Promise<PreparedDataset> {
  return centreKind(dir) === 'image' ? prepareImages(dir, prep, options) : prepareTable(dir, prep, options);
}

async function prepareImages(dir: string, prep: DataPreparation, options: PrepareOptions): Promise<PreparedDataset> {
  const [h, w, c = 1] = prep.inputShape;
  if (prep.inputShape.length !== 3 || c !== 1 || !h || !w) {
    throw new DatasetError({ file: dir, reason: `an image centre needs an input shape [height, width, 1], the experiment gives [${prep.inputShape.join(', ')}]` });
  }
  const rows: Row[] = [];
  const extra: DataIssue[] = [];
  const report = (issue: DataIssue) => {
    extra.push(issue);
    options.report?.(issue);
    if (options.onError === 'fail') throw new DatasetError(issue);
  };
  const scanned = await scanImageDataset(dir, {
    onError: options.onError,
    ...(options.report ? { report: options.report } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
    visit: (example) => {
      try {
        const x = preprocessImage(example.image, { size: [h, w], ...(prep.landmarks ? { landmarks: prep.landmarks } : {}), normalisation: normalisationOf(prep) });
        rows.push({ key: example.file, patientId: example.patientId, label: example.label, x });
      } catch (err) {
        if (err instanceof DatasetError) throw err;
        report({ file: path.join(dir, example.file), reason: `cannot preprocess: ${(err as Error).message}` });
      }
    },
  });
  return finish(scanned.centreId, 'image', prep, rows, [...scanned.issues, ...extra]);
}

function prepareTable(dir: string, prep: DataPreparation, options: PrepareOptions): PreparedDataset {
  const table = loadTabularDataset(dir, { onError: options.onError, ...(options.report ? { report: options.report } : {}) });
  const features = table.featureNames.length;
  if (prep.inputShape.length !== 1 || prep.inputShape[0] !== features) {
    throw new DatasetError({ file: table.file, reason: `the table has ${features} feature columns (${table.featureNames.join(', ')}), the experiment's input shape is [${prep.inputShape.join(', ')}]` });
  }
  const issues = [...table.issues];
  const rows: Row[] = [];
  table.features.forEach((x, i) => {
    const label = table.labels[i]!;
    if (label !== 0 && label !== 1) {
      const issue = { file: table.file, line: table.lines[i]!, column: 'label', reason: `label ${label}: this pipeline is binary (benign 0 / malignant 1)` };
      if (options.onError === 'fail') throw new DatasetError(issue);
      options.report?.(issue);
      issues.push(issue);
      return;
    }
    rows.push({ key: String(table.lines[i]).padStart(10, '0'), patientId: table.patientIds?.[i] ?? `row-${table.lines[i]}`, label, x });
  });
  const prepared = finish(table.centreId, 'tabular', prep, rows, issues);
  if (prep.normalisation !== 'none') standardiseColumns(prepared, features);
  return prepared;
}

/** Deterministic order (completion order of the reads varies), patient-level split, packing. */
function finish(centreId: string, kind: 'image' | 'tabular', prep: DataPreparation, rows: Row[], issues: DataIssue[]): PreparedDataset {
  if (rows.length === 0) throw new DatasetError({ file: centreId, reason: 'no usable examples' + (issues.length ? ` (${issues.length} issues, first: ${issues[0]!.reason})` : '') });
  rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const split = testSplit(rows, { validationFraction: prep.validationFraction, testFraction: prep.testFraction, seed: deriveSeed(prep.splitSeed, 'split', centreId) });
  const size = prep.inputShape.reduce((a, b) => a * b, 1);
  const pack = (part: Row[]): PreparedSplit => {
    const x = new Float32Array(part.length * size);
    const y = new Uint8Array(part.length);
    part.forEach((r, i) => {
      x.set(r.x, i * size);
      y[i] = r.label;
    });
    return { x, y, n: part.length, patients: new Set(part.map((r) => r.patientId)).size };
  };
  return { centreId, kind, inputShape: [...prep.inputShape], train: pack(split.train), validation: pack(split.validation), test: pack(split.test), issues };
}

/** Table features: z-scores with the training split's mean and deviation, applied to every split (constant columns stay). */
function standardiseColumns(d: PreparedDataset, features: number): void {
  for (let f = 0; f < features; f++) {
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < d.train.n; i++) {
      const v = d.train.x[i * features + f]!;
      sum += v;
      sq += v * v;
    }
    const n = Math.max(1, d.train.n);
    const mean = sum / n;
    const std = Math.sqrt(Math.max(0, sq / n - mean * mean)) || 1;
    for (const part of [d.train, d.validation, d.test]) {
      for (let i = 0; i < part.n; i++) part.x[i * features + f] = (part.x[i * features + f]! - mean) / std;
    }
  }
}
