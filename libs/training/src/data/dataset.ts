import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { csvTable, type CsvTable } from './csv';
import { readDicomImage } from './dicom';
import { ImageReadError, imageFormatOf, type GrayImage } from './image';
import { mapBounded } from './pool';
import { readPngImage } from './png';

/** Something wrong with the data: the file at fault, where in it, and why. */
export interface DataIssue {
  file: string;
  /** 1-based line in `file` (CSV files). */
  line?: number;
  /** The CSV column at fault. */
  column?: string;
  reason: string;
  /** For an unreadable or missing image: the labels.csv line that lists it. */
  listedAt?: { file: string; line: number };
}

/** `file:line (column c) (listed at labels.csv:7): reason` — the parts that are known. */
export function formatIssue(issue: DataIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  const column = issue.column === undefined ? '' : ` (column ${issue.column})`;
  const listed = issue.listedAt === undefined ? '' : ` (listed at ${path.basename(issue.listedAt.file)}:${issue.listedAt.line})`;
  return `${where}${column}${listed}: ${issue.reason}`;
}

/** A dataset that cannot be loaded as configured: the message names the file (and line) and the reason. */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';

  constructor(readonly issue: DataIssue) {
    super(formatIssue(issue));
  }
}

/** What to do about a malformed row or unreadable file: stop at the first (`fail`) or record it and go on (`skip`). */
export type OnDataError = 'skip' | 'fail';

export interface DataLoadOptions {
  onError: OnDataError;
  /** Called for every issue as it is found (also the one that stops a `fail` run). */
  report?: (issue: DataIssue) => void;
}

/** Collects issues; in `fail` mode the first one throws. */
class IssueSink {
  readonly issues: DataIssue[] = [];

  constructor(private readonly options: DataLoadOptions) {}

  add(issue: DataIssue): void {
    this.issues.push(issue);
    this.options.report?.(issue);
    if (this.options.onError === 'fail') throw new DatasetError(issue);
  }
}

/** The centre id: centre.json's `id` when there is one, else the folder's name. */
function centreIdOf(dir: string, sink: IssueSink): string {
  const file = path.join(dir, 'centre.json');
  if (!existsSync(file)) return path.basename(path.resolve(dir));
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { id?: unknown };
    if (typeof parsed.id === 'string' && parsed.id !== '') return parsed.id;
    sink.add({ file, reason: 'no string "id"; using the folder name' });
  } catch (err) {
    sink.add({ file, reason: `unreadable: ${(err as Error).message}; using the folder name` });
  }
  return path.basename(path.resolve(dir));
}

/** Reads a CSV with a header; a missing or empty file, or a malformed header, stops the load whatever onError says. */
function readTable(file: string): CsvTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DatasetError({ file, reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read: ${(err as Error).message}` });
  }
  const table = csvTable(text);
  if (table === undefined) throw new DatasetError({ file, line: 1, reason: 'empty file: no header' });
  if (table.headerError !== undefined) throw new DatasetError({ file, line: table.headerLine, reason: `malformed header: ${table.headerError}` });
  return table;
}

function columnIndex(table: CsvTable, file: string, name: string, required: true): number;
function columnIndex(table: CsvTable, file: string, name: string, required: false): number | undefined;
function columnIndex(table: CsvTable, file: string, name: string, required: boolean): number | undefined {
  const index = table.header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
  if (index >= 0) return index;
  if (required) throw new DatasetError({ file, line: table.headerLine, reason: `no '${name}' column (header: ${table.header.join(',')})` });
  return undefined;
}

export const LABEL_NAMES = ['benign', 'malignant'] as const;

/** benign → 0, malignant → 1 (any case, trimmed); undefined for anything else. */
function imageLabel(cell: string): 0 | 1 | undefined {
  const index = LABEL_NAMES.indexOf(cell.trim().toLowerCase() as (typeof LABEL_NAMES)[number]);
  return index === 0 || index === 1 ? index : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Image datasets

export interface ImageExample {
  /** As listed in labels.csv, relative to the centre folder (normalised, forward slashes). */
  file: string;
  /** The labels.csv line. */
  line: number;
  /** benign 0, malignant 1. */
  label: 0 | 1;
  patientId: string;
  view?: string;
  image: GrayImage;
}

export interface ImageDatasetOptions extends DataLoadOptions {
  /** Files read at once (default 16). Decoding runs on this thread; reading overlaps it. */
  concurrency?: number;
  /** After every image (read or failed): how many are done out of how many listed. */
  progress?: (done: number, total: number) => void;
}

export interface ImageDataset {
  centreId: string;
  dir: string;
  /** In labels.csv order, without the rows that had an issue. */
  examples: ImageExample[];
  /** Sorted by file and line. */
  issues: DataIssue[];
}

interface LabelRow {
  file: string;
  line: number;
  label: 0 | 1;
  patientId: string;
  view?: string;
}

/** The valid rows of labels.csv; every malformed row is an issue naming labels.csv and its line. */
function readLabelRows(labelsFile: string, sink: IssueSink): LabelRow[] {
  const table = readTable(labelsFile);
  const imageCol = columnIndex(table, labelsFile, 'image', true);
  const labelCol = columnIndex(table, labelsFile, 'label', true);
  const patientCol = columnIndex(table, labelsFile, 'patient_id', true);
  const viewCol = columnIndex(table, labelsFile, 'view', false);
  const firstLine = new Map<string, number>();
  const rows: LabelRow[] = [];
  for (const record of table.rows) {
    const at = { file: labelsFile, line: record.line };
    if (record.error !== undefined) {
      sink.add({ ...at, reason: `malformed row: ${record.error}` });
      continue;
    }
    const image = record.cells[imageCol]!.trim();
    const label = imageLabel(record.cells[labelCol]!);
    const patientId = record.cells[patientCol]!.trim();
    const normalised = path.posix.normalize(image.replace(/\\/g, '/'));
    if (image === '') sink.add({ ...at, column: 'image', reason: 'empty image path' });
    else if (path.isAbsolute(image) || path.win32.isAbsolute(image) || normalised === '..' || normalised.startsWith('../')) {
      sink.add({ ...at, column: 'image', reason: `image path '${image}' must be relative to the centre folder and stay inside it` });
    } else if (label === undefined) sink.add({ ...at, column: 'label', reason: `unknown label '${record.cells[labelCol]}' (expected benign or malignant)` });
    else if (patientId === '') sink.add({ ...at, column: 'patient_id', reason: 'missing patient id' });
    else if (firstLine.has(normalised)) sink.add({ ...at, column: 'image', reason: `duplicate image '${image}' (first listed on line ${firstLine.get(normalised)})` });
    else {
      firstLine.set(normalised, record.line);
      const view = viewCol === undefined ? '' : record.cells[viewCol]!.trim();
      rows.push({ file: normalised, line: record.line, label, patientId, ...(view === '' ? {} : { view }) });
    }
  }
  return rows;
}

/** Decodes DICOM or PNG by their bytes (not by the file name). */
export function decodeImage(bytes: Uint8Array, file: string): GrayImage {
  const format = imageFormatOf(bytes);
  if (format === 'dicom') return readDicomImage(bytes, file);
  if (format === 'png') return readPngImage(bytes, file);
  throw new ImageReadError(file, `neither DICOM (no "DICM" at byte 128) nor PNG (no PNG signature)${bytes.length === 0 ? ': empty file' : ''}`);
}

async function readRowImage(dir: string, row: LabelRow, labelsFile: string, sink: IssueSink): Promise<GrayImage | undefined> {
  const file = path.join(dir, row.file);
  const listedAt = { file: labelsFile, line: row.line };
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    sink.add({ file, listedAt, reason: code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : `cannot read: ${(err as Error).message}` });
    return undefined;
  }
  try {
    return decodeImage(bytes, file);
  } catch (err) {
    if (!(err instanceof ImageReadError)) throw err;
    sink.add({ file, listedAt, reason: err.reason });
    return undefined;
  }
}

function sortIssues(issues: DataIssue[]): DataIssue[] {
  const key = (i: DataIssue) => i.listedAt ?? { file: i.file, line: i.line ?? 0 };
  return issues.sort((a, b) => key(a).file.localeCompare(key(b).file) || key(a).line - key(b).line);
}

/**
 * Streams a centre's image dataset (`<dir>/labels.csv` with image,label,patient_id[,view], images relative to
 * `<dir>`) to `visit` in completion order, without keeping the pixels. Every malformed row and unreadable image is
 * an issue: `fail` throws a DatasetError at the first, `skip` records (and reports) them and goes on.
 */
export async function scanImageDataset(
  dir: string,
  options: ImageDatasetOptions & { visit: (example: ImageExample, index: number) => void },
): Promise<{ centreId: string; listed: number; issues: DataIssue[] }> {
  const sink = new IssueSink(options);
  const centreId = centreIdOf(dir, sink);
  const labelsFile = path.join(dir, 'labels.csv');
  const rows = readLabelRows(labelsFile, sink);
  let done = 0;
  await mapBounded(rows, options.concurrency ?? 16, async (row, index) => {
    const image = await readRowImage(dir, row, labelsFile, sink);
    if (image !== undefined) options.visit({ ...row, image }, index);
    options.progress?.(++done, rows.length);
  });
  return { centreId, listed: rows.length, issues: sortIssues(sink.issues) };
}

/** Loads a centre's image dataset into memory (see scanImageDataset), examples in labels.csv order. */
export async function loadImageDataset(dir: string, options: ImageDatasetOptions): Promise<ImageDataset> {
  const slots: (ImageExample | undefined)[] = [];
  const { centreId, issues } = await scanImageDataset(dir, { ...options, visit: (example, index) => (slots[index] = example) });
  return { centreId, dir, examples: slots.filter((e): e is ImageExample => e !== undefined), issues };
}

// ---------------------------------------------------------------------------------------------------------------
// Tabular datasets

export interface TabularDatasetOptions extends DataLoadOptions {
  /** Default 'label': benign/malignant (→ 0/1) or a non-negative integer class. */
  labelColumn?: string;
  /** Default 'patient_id'; optional in the file, never a feature. */
  patientColumn?: string;
}

export interface TabularDataset {
  centreId: string;
  file: string;
  featureNames: string[];
  /** One row of features per example. */
  features: Float32Array[];
  labels: Int32Array;
  /** When the file has the patient column. */
  patientIds?: string[];
  /** The CSV line of each example. */
  lines: number[];
  issues: DataIssue[];
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function tabularLabel(cell: string): number | undefined {
  const text = cell.trim();
  const named = imageLabel(text);
  if (named !== undefined) return named;
  return /^\d+$/.test(text) && Number(text) <= 2 ** 31 - 1 ? Number(text) : undefined;
}

/**
 * Loads a tabular centre: a CSV (or a folder holding data.csv) with numeric feature columns, a label column and
 * optionally a patient column. Every non-numeric or missing cell is an issue naming file, line and column; a
 * malformed row or a bad label likewise.
 */
export function loadTabularDataset(fileOrDir: string, options: TabularDatasetOptions): TabularDataset {
  const isDir = existsSync(fileOrDir) && statSync(fileOrDir).isDirectory();
  const file = isDir ? path.join(fileOrDir, 'data.csv') : fileOrDir;
  const sink = new IssueSink(options);
  const centreId = centreIdOf(path.dirname(file), sink);
  const table = readTable(file);
  const labelColumn = options.labelColumn ?? 'label';
  const labelCol = columnIndex(table, file, labelColumn, true);
  const patientCol = columnIndex(table, file, options.patientColumn ?? 'patient_id', false);
  const featureCols = table.header.map((_, i) => i).filter((i) => i !== labelCol && i !== patientCol);
  if (featureCols.length === 0) throw new DatasetError({ file, line: table.headerLine, reason: 'no feature columns besides the label' });
  const features: Float32Array[] = [];
  const labels: number[] = [];
  const patientIds: string[] = [];
  const lines: number[] = [];
  for (const record of table.rows) {
    const at = { file, line: record.line };
    if (record.error !== undefined) {
      sink.add({ ...at, reason: `malformed row: ${record.error}` });
      continue;
    }
    let ok = true;
    const label = tabularLabel(record.cells[labelCol]!);
    if (label === undefined) {
      sink.add({ ...at, column: labelColumn, reason: `bad label '${record.cells[labelCol]}' (benign, malignant or a class number)` });
      ok = false;
    }
    const row = new Float32Array(featureCols.length);
    featureCols.forEach((col, j) => {
      const cell = record.cells[col]!.trim();
      if (NUMBER.test(cell)) row[j] = Number(cell);
      else {
        sink.add({ ...at, column: table.header[col]!, reason: cell === '' ? 'missing value' : `not a number: '${cell}'` });
        ok = false;
      }
    });
    if (!ok) continue;
    features.push(row);
    labels.push(label!);
    lines.push(record.line);
    if (patientCol !== undefined) patientIds.push(record.cells[patientCol]!.trim());
  }
  return {
    centreId,
    file,
    featureNames: featureCols.map((i) => table.header[i]!),
    features,
    labels: Int32Array.from(labels),
    ...(patientCol === undefined ? {} : { patientIds }),
    lines,
    issues: sortIssues(sink.issues),
  };
}
