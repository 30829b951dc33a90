import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { DatasetError, formatIssue, loadImageDataset, loadTabularDataset, writeDicomImage, type DataIssue } from '../src/data';

let root: string;
beforeAll(() => (root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-dataset-'))));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A 2x2 8-bit DICOM whose first pixel is `v` (others 0, 255, 128), no window: display = v / 255. */
function dicom(v: number, patientId = 'P'): Uint8Array {
  return writeDicomImage({ rows: 2, columns: 2, pixels: Uint8Array.of(v, 0, 255, 128), bitsAllocated: 8, bitsStored: 8, photometric: 'MONOCHROME2', patientId, studyInstanceUid: '2.25.1', seriesInstanceUid: '2.25.2', sopInstanceUid: `2.25.${v + 3}` });
}

function png(v: number): Buffer {
  const image = new PNG({ width: 2, height: 2, colorType: 0, inputColorType: 0 });
  image.data = Buffer.from([v, 0, 255, 128]);
  return PNG.sync.write(image, { colorType: 0, inputColorType: 0 });
}

/** A centre folder with the given files (relative path → bytes or text). */
function centre(name: string, files: Record<string, Uint8Array | string>): string {
  const dir = path.join(root, name);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

const GOOD_IMAGES = { 'images/a.dcm': dicom(10), 'images/b.dcm': dicom(20), 'images/c.png': png(30), 'images/d.dcm': dicom(40), 'images/e.png': png(50) };

describe('loadImageDataset', () => {
  const labels = ['image,label,patient_id,view', 'images/a.dcm,benign,P1,L-CC', 'images/b.dcm,malignant,P1,L-MLO', 'images/c.png, Benign ,P2,', 'images/d.dcm,benjgn,P2,R-CC', 'images/e.png,malignant,P3,R-MLO', ''].join('\n');

  it("a bad label on line 5: 'skip' reports labels.csv:5 and keeps the other rows", async () => {
    const dir = centre('bad-label', { ...GOOD_IMAGES, 'labels.csv': labels });
    const reported: DataIssue[] = [];
    const data = await loadImageDataset(dir, { onError: 'skip', report: (i) => reported.push(i) });
    expect(data.centreId).toBe('bad-label');
    expect(data.issues).toEqual([{ file: path.join(dir, 'labels.csv'), line: 5, column: 'label', reason: "unknown label 'benjgn' (expected benign or malignant)" }]);
    expect(reported).toEqual(data.issues);
    expect(formatIssue(data.issues[0]!)).toBe(`${path.join(dir, 'labels.csv')}:5 (column label): unknown label 'benjgn' (expected benign or malignant)`);
    expect(data.examples.map((e) => [e.file, e.line, e.label, e.patientId, e.view])).toEqual([
      ['images/a.dcm', 2, 0, 'P1', 'L-CC'],
      ['images/b.dcm', 3, 1, 'P1', 'L-MLO'],
      ['images/c.png', 4, 0, 'P2', undefined],
      ['images/e.png', 6, 1, 'P3', 'R-MLO'],
    ]);
    expect(data.examples.map((e) => Math.round(e.image.data[0]! * 255))).toEqual([10, 20, 30, 50]);
    expect(data.examples.map((e) => e.image.meta.format)).toEqual(['dicom', 'dicom', 'png', 'png']);
  });

  it("a bad label on line 5: 'fail' throws a DatasetError naming labels.csv:5 and the reason", async () => {
    const dir = path.join(root, 'bad-label');
    const failed = loadImageDataset(dir, { onError: 'fail' });
    await expect(failed).rejects.toBeInstanceOf(DatasetError);
    await expect(loadImageDataset(dir, { onError: 'fail' })).rejects.toThrow(`${path.join(dir, 'labels.csv')}:5 (column label): unknown label 'benjgn'`);
  });

  it('reports every malformed row and unreadable image with file and line, and loads the rest', async () => {
    const truncated = dicom(60).subarray(0, 300);
    const dir = centre('many-problems', {
      ...GOOD_IMAGES,
      'images/garbage.dcm': 'not an image',
      'images/cut.dcm': truncated,
      'labels.csv': [
        'image,label,patient_id,view', // 1
        'images/a.dcm,benign,P1,CC', // 2 ok
        'images/b.dcm,malignant,,CC', // 3 missing patient id
        'images/a.dcm,benign,P1,MLO', // 4 duplicate of line 2
        'images/missing.dcm,benign,P4,CC', // 5 file not found
        'images/garbage.dcm,benign,P5,CC', // 6 not an image
        '../outside.dcm,benign,P6,CC', // 7 escapes the centre folder
        'images/c.png,benign', // 8 too few cells
        '"images/d.dcm",malignant,"P7",CC', // 9 ok (quoted)
        'images/cut.dcm,malignant,P8,CC', // 10 truncated DICOM
        './images/e.png,malignant,P9,CC', // 11 ok (normalised)
      ].join('\r\n'),
    });
    const progress: number[] = [];
    const data = await loadImageDataset(dir, { onError: 'skip', concurrency: 2, progress: (done, total) => progress.push(done * 100 + total) });
    const labelsFile = path.join(dir, 'labels.csv');
    expect(data.examples.map((e) => [e.file, e.line])).toEqual([
      ['images/a.dcm', 2],
      ['images/d.dcm', 9],
      ['images/e.png', 11],
    ]);
    expect(data.issues.map(formatIssue)).toEqual([
      `${labelsFile}:3 (column patient_id): missing patient id`,
      `${labelsFile}:4 (column image): duplicate image 'images/a.dcm' (first listed on line 2)`,
      `${path.join(dir, 'images/missing.dcm')} (listed at labels.csv:5): file not found`,
      `${path.join(dir, 'images/garbage.dcm')} (listed at labels.csv:6): neither DICOM (no "DICM" at byte 128) nor PNG (no PNG signature)`,
      `${labelsFile}:7 (column image): image path '../outside.dcm' must be relative to the centre folder and stay inside it`,
      `${labelsFile}:8: malformed row: 2 cells, the header has 4`,
      expect.stringMatching(new RegExp(`^${path.join(dir, 'images/cut.dcm').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(listed at labels.csv:10\\): (truncated|cannot parse)`)),
    ]);
    // Six rows passed the CSV checks and were read; progress saw each, ending at 6/6.
    expect(progress).toHaveLength(6);
    expect(progress[progress.length - 1]).toBe(606);
  });

  it('stops whatever onError says when labels.csv is missing or lacks a required column', async () => {
    const none = centre('no-labels', { 'images/a.dcm': dicom(1) });
    await expect(loadImageDataset(none, { onError: 'skip' })).rejects.toThrow(`${path.join(none, 'labels.csv')}: file not found`);
    const noLabel = centre('no-label-column', { 'labels.csv': 'image,patient_id\nimages/a.dcm,P1\n' });
    await expect(loadImageDataset(noLabel, { onError: 'skip' })).rejects.toThrow(`${path.join(noLabel, 'labels.csv')}:1: no 'label' column (header: image,patient_id)`);
  });

  it("takes the centre id from centre.json and keeps labels.csv order whatever the read order", async () => {
    const files: Record<string, Uint8Array | string> = { 'centre.json': JSON.stringify({ id: 'site-7' }) };
    const rows = ['image,label,patient_id'];
    for (let i = 0; i < 40; i++) {
      files[`images/${i}.dcm`] = dicom(i, `P${i}`);
      rows.push(`images/${i}.dcm,${i % 3 === 0 ? 'malignant' : 'benign'},P${i}`);
    }
    const dir = centre('ordered', { ...files, 'labels.csv': rows.join('\n') });
    const data = await loadImageDataset(dir, { onError: 'fail', concurrency: 7 });
    expect(data.centreId).toBe('site-7');
    expect(data.issues).toEqual([]);
    expect(data.examples.map((e) => Math.round(e.image.data[0]! * 255))).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(data.examples.map((e) => e.image.meta.patientId)).toEqual(data.examples.map((e) => e.patientId));
    expect(data.examples.filter((e) => e.label === 1)).toHaveLength(14);
  });
});

describe('loadTabularDataset', () => {
  const csv = [
    'patient_id,f1,f2,label', // 1
    'p1,1.5,-2,benign', // 2
    'p2,3e2,.5,malignant', // 3
    'p3,4,abc,benign', // 4 non-numeric
    'p4,,1,benign', // 5 missing
    'p5,1,2,maybe', // 6 bad label
    'p6,0,0,1', // 7 numeric label
  ].join('\n');

  it("'skip' reports non-numeric and missing cells with line and column, and keeps the good rows", () => {
    const dir = centre('tab', { 'data.csv': csv });
    const file = path.join(dir, 'data.csv');
    const data = loadTabularDataset(dir, { onError: 'skip' });
    expect(data.featureNames).toEqual(['f1', 'f2']);
    expect(data.features.map((r) => Array.from(r))).toEqual([
      [1.5, -2],
      [300, 0.5],
      [0, 0],
    ]);
    expect(Array.from(data.labels)).toEqual([0, 1, 1]);
    expect(data.patientIds).toEqual(['p1', 'p2', 'p6']);
    expect(data.lines).toEqual([2, 3, 7]);
    expect(data.issues.map(formatIssue)).toEqual([
      `${file}:4 (column f2): not a number: 'abc'`,
      `${file}:5 (column f1): missing value`,
      `${file}:6 (column label): bad label 'maybe' (benign, malignant or a class number)`,
    ]);
  });

  it("'fail' throws at the first, naming file, line and column; another label column can be named", () => {
    const file = path.join(root, 'tab', 'data.csv');
    expect(() => loadTabularDataset(file, { onError: 'fail' })).toThrow(`${file}:4 (column f2): not a number: 'abc'`);
    const other = centre('tab-other', { 'data.csv': 'x,y,outcome\n1,2,0\n3,4,2\n' });
    const data = loadTabularDataset(other, { onError: 'fail', labelColumn: 'outcome' });
    expect(data.featureNames).toEqual(['x', 'y']);
    expect(Array.from(data.labels)).toEqual([0, 2]);
    expect(data.patientIds).toBeUndefined();
    expect(() => loadTabularDataset(other, { onError: 'skip' })).toThrow(`${path.join(other, 'data.csv')}:1: no 'label' column (header: x,y,outcome)`);
  });
});
