import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDicom } from 'dicom-parser';
import { ds, encodeDataSet, encodePart10, ImageReadError, MG_FOR_PRESENTATION_SOP_CLASS, readDicomImage, writeDicomImage, type DicomElement, type DicomImageSpec } from '../src/data';

let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-dicom-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const UIDS = { studyInstanceUid: '2.25.1', seriesInstanceUid: '2.25.2', sopInstanceUid: '2.25.3' };

function spec16(pixels: number[], extra: Partial<DicomImageSpec> = {}): DicomImageSpec {
  return { rows: 2, columns: pixels.length / 2, pixels: Uint16Array.from(pixels), bitsAllocated: 16, bitsStored: 12, photometric: 'MONOCHROME2', patientId: 'P1', ...UIDS, ...extra };
}

function close(actual: Float32Array, expected: number[]): void {
  expect(Array.from(actual)).toHaveLength(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 5));
}

describe('writeDicomImage: a DICOM Part 10 file that dicom-parser reads back', () => {
  const bytes = writeDicomImage(
    spec16([0, 1000, 2000, 4095], {
      view: 'MLO',
      laterality: 'R',
      manufacturer: 'Acme', // odd length: padded with a space
      windowCenter: 2048,
      windowWidth: 4096,
      rescaleSlope: 1,
      rescaleIntercept: 0,
    }),
  );
  const parsed = parseDicom(bytes);

  it('has the preamble, DICM, and a file meta group whose length is right', () => {
    expect(Array.from(bytes.subarray(0, 128)).every((b) => b === 0)).toBe(true);
    expect(Buffer.from(bytes.subarray(128, 132)).toString('latin1')).toBe('DICM');
    const groupLength = parsed.uint32('x00020000')!;
    const afterGroupLength = parsed.elements.x00020000!.dataOffset + 4;
    const firstDataElement = parsed.elements.x00080008!.dataOffset - 8; // tag (4) + VR (2) + 16-bit length (2)
    expect(afterGroupLength + groupLength).toBe(firstDataElement);
    expect(parsed.string('x00020010')).toBe('1.2.840.10008.1.2.1');
    expect(parsed.string('x00020002')).toBe(MG_FOR_PRESENTATION_SOP_CLASS);
    expect(parsed.string('x00020003')).toBe(UIDS.sopInstanceUid);
  });

  it('carries the mammography attributes with their VRs', () => {
    expect(parsed.string('x00080016')).toBe(MG_FOR_PRESENTATION_SOP_CLASS);
    expect(parsed.string('x00080060')).toBe('MG');
    expect(parsed.string('x00100020')).toBe('P1');
    expect(parsed.string('x00185101')).toBe('MLO');
    expect(parsed.string('x00200062')).toBe('R');
    expect(parsed.string('x0020000d')).toBe(UIDS.studyInstanceUid);
    expect(parsed.string('x0020000e')).toBe(UIDS.seriesInstanceUid);
    expect(parsed.string('x00280004')).toBe('MONOCHROME2');
    expect(parsed.string('x20500020')).toBe('IDENTITY');
    expect(parsed.string('x00180015')).toBe('BREAST');
    expect([parsed.uint16('x00280010'), parsed.uint16('x00280011'), parsed.uint16('x00280100'), parsed.uint16('x00280101'), parsed.uint16('x00280102'), parsed.uint16('x00280103'), parsed.uint16('x00280002')]).toEqual([2, 2, 16, 12, 11, 0, 1]);
    expect(parsed.floatString('x00281050')).toBe(2048);
    expect(parsed.elements.x00080070!.vr).toBe('LO');
    expect(parsed.elements.x00080070!.length % 2).toBe(0);
    expect(parsed.string('x00080070')).toBe('Acme');
    expect(parsed.elements.x7fe00010!.vr).toBe('OW');
    expect(parsed.elements.x7fe00010!.length).toBe(8);
    for (const element of Object.values(parsed.elements)) expect(element.length % 2).toBe(0);
  });

  it('round-trips 16-bit pixels through the window', () => {
    const image = readDicomImage(bytes, 'mem.dcm');
    expect([image.width, image.height]).toEqual([2, 2]);
    // LINEAR: ((x - (c - 0.5)) / (w - 1) + 0.5), clipped to [0, 1].
    close(image.data, [0, 1000, 2000, 4095].map((x) => Math.min(1, Math.max(0, (x - 2047.5) / 4095 + 0.5))));
    expect(image.meta).toMatchObject({ format: 'dicom', photometric: 'MONOCHROME2', bitsAllocated: 16, bitsStored: 12, voi: 'window', windowCenter: 2048, windowWidth: 4096, view: 'MLO', laterality: 'R', patientId: 'P1', manufacturer: 'Acme' });
  });

  it('round-trips 8-bit pixels (OB, odd length padded) and uses the min–max without a window', () => {
    const eight = writeDicomImage({ rows: 1, columns: 3, pixels: Uint8Array.of(10, 60, 110), bitsAllocated: 8, bitsStored: 8, photometric: 'MONOCHROME2', patientId: 'P8', ...UIDS });
    const p = parseDicom(eight);
    expect(p.elements.x7fe00010!.vr).toBe('OB');
    expect(p.elements.x7fe00010!.length).toBe(4);
    const image = readDicomImage(eight, 'eight.dcm');
    close(image.data, [0, 0.5, 1]);
    expect(image.meta).toMatchObject({ bitsAllocated: 8, bitsStored: 8, voi: 'minmax' });
    expect(image.meta.windowCenter).toBeUndefined();
  });

  it('inverts MONOCHROME1 so that high = bright tissue', () => {
    const pixels = [0, 1000, 3000, 4095];
    const mono2 = readDicomImage(writeDicomImage(spec16(pixels, { windowCenter: 2000, windowWidth: 3000 })));
    const mono1 = readDicomImage(writeDicomImage(spec16(pixels, { photometric: 'MONOCHROME1', windowCenter: 2000, windowWidth: 3000 })));
    expect(mono1.meta.photometric).toBe('MONOCHROME1');
    expect(parseDicom(writeDicomImage(spec16(pixels, { photometric: 'MONOCHROME1' }))).string('x20500020')).toBe('INVERSE');
    close(mono1.data, Array.from(mono2.data, (v) => 1 - v));
    expect(mono1.data[0]).toBeCloseTo(1, 5); // stored 0 is white in MONOCHROME1
  });

  it('applies rescale slope/intercept before a window given in modality units', () => {
    // modality = 2 * stored - 1000: stored 0, 500, 1000, 1500 -> -1000, 0, 1000, 2000
    const image = readDicomImage(writeDicomImage(spec16([0, 500, 1000, 1500], { rescaleSlope: 2, rescaleIntercept: -1000, windowCenter: 500.5, windowWidth: 2001 })));
    close(image.data, [0, 0.25, 0.75, 1]); // (m - 500) / 2000 + 0.5, clipped
    expect(image.meta).toMatchObject({ rescaleSlope: 2, rescaleIntercept: -1000 });
  });

  it('follows the PS3.3 linear window at its edges', () => {
    // c = 100, w = 21: x <= 89.5 -> 0, x > 109.5 -> 1, 99.5 -> 0.5
    const image = readDicomImage(writeDicomImage(spec16([89, 90, 99, 110], { windowCenter: 100, windowWidth: 21 })));
    close(image.data, [0, (90 - 99.5) / 20 + 0.5, (99 - 99.5) / 20 + 0.5, 1]);
  });

  it('reads signed pixels with fewer bits stored, and uses the first of several window values', () => {
    const signed = writeDicomImage({ ...spec16([]), columns: 2, pixels: Int16Array.of(-2048, -1, 0, 2047), pixelRepresentation: 1, windowCenter: 0, windowWidth: 4096 });
    const image = readDicomImage(signed, 'signed.dcm');
    close(image.data, [-2048, -1, 0, 2047].map((x) => Math.min(1, Math.max(0, (x + 0.5) / 4095 + 0.5))));
    expect(image.meta.pixelRepresentation).toBe(1);

    const multi = encodePart10(
      [...imageElements(Uint16Array.of(100, 200)), { tag: 0x00281050, vr: 'DS', value: ['150', '1000'] }, { tag: 0x00281051, vr: 'DS', value: ['101', '50'] }],
      { sopClassUid: MG_FOR_PRESENTATION_SOP_CLASS, sopInstanceUid: '2.25.9' },
    );
    const first = readDicomImage(multi, 'multi.dcm');
    expect(first.meta).toMatchObject({ windowCenter: 150, windowWidth: 101 });
    close(first.data, [(100 - 149.5) / 100 + 0.5, 1]);
  });
});

/** The minimum elements of a 1x2 16-bit MONOCHROME2 image, for hand-crafted files. */
function imageElements(pixels: Uint16Array, overrides: DicomElement[] = []): DicomElement[] {
  const base: DicomElement[] = [
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: 1 },
    { tag: 0x00280011, vr: 'US', value: pixels.length },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: 16 },
    { tag: 0x00280102, vr: 'US', value: 15 },
    { tag: 0x00280103, vr: 'US', value: 0 },
    { tag: 0x7fe00010, vr: 'OW', value: pixels },
  ];
  return [...base.filter((e) => !overrides.some((o) => o.tag === e.tag)), ...overrides];
}

describe('readDicomImage refuses what it cannot show, naming the file and the reason', () => {
  function refusal(name: string, bytes: Uint8Array): string {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    try {
      readDicomImage(file);
    } catch (err) {
      expect(err).toBeInstanceOf(ImageReadError);
      expect((err as ImageReadError).file).toBe(file);
      expect((err as Error).message.startsWith(`${file}: `)).toBe(true);
      return (err as ImageReadError).reason;
    }
    throw new Error(`${name} was read`);
  }
  const good = writeDicomImage(spec16([1, 2, 3, 4]));
  const sop = { sopClassUid: MG_FOR_PRESENTATION_SOP_CLASS, sopInstanceUid: '2.25.5' };

  it('garbage and too-short files', () => {
    expect(refusal('garbage.dcm', Buffer.from('this is not a DICOM file at all, just some text that is long enough '.repeat(4)))).toMatch(/no "DICM" marker/);
    expect(refusal('short.dcm', Uint8Array.of(1, 2, 3))).toMatch(/not a DICOM file: 3 bytes/);
  });

  it('a file truncated in the pixel data or in the header', () => {
    const pixelOffset = good.length - 8;
    expect(refusal('cut-pixels.dcm', good.subarray(0, good.length - 3))).toBe(`truncated: element (7FE0,0010) needs 8 bytes from offset ${pixelOffset} but the file ends at ${good.length - 3}`);
    expect(refusal('cut-header.dcm', good.subarray(0, 200))).toMatch(/^cannot parse the DICOM data set \(truncated or corrupt file\?\): /);
  });

  it('compressed transfer syntaxes, several frames, colour, no pixel data', () => {
    expect(refusal('j2k.dcm', encodePart10(imageElements(Uint16Array.of(1, 2)), { ...sop, transferSyntaxUid: '1.2.840.10008.1.2.4.90' }))).toMatch(
      /compressed transfer syntax 1\.2\.840\.10008\.1\.2\.4\.90 \(JPEG 2000 Lossless\) is not supported/,
    );
    expect(refusal('frames.dcm', encodePart10(imageElements(Uint16Array.of(1, 2), [{ tag: 0x00280008, vr: 'IS', value: '2' }]), sop))).toMatch(/multi-frame image \(2 frames\)/);
    expect(
      refusal('rgb.dcm', encodePart10(imageElements(Uint16Array.of(1, 2, 3, 4, 5, 6), [{ tag: 0x00280002, vr: 'US', value: 3 }, { tag: 0x00280004, vr: 'CS', value: 'RGB' }, { tag: 0x00280011, vr: 'US', value: 2 }]), sop)),
    ).toMatch(/colour or non-greyscale image \(PhotometricInterpretation RGB, SamplesPerPixel 3\)/);
    expect(refusal('nopixels.dcm', encodePart10(imageElements(Uint16Array.of(1, 2)).filter((e) => e.tag !== 0x7fe00010), sop))).toMatch(/no pixel data \(7FE0,0010\)/);
    expect(refusal('bits32.dcm', encodePart10(imageElements(Uint16Array.of(1, 2), [{ tag: 0x00280100, vr: 'US', value: 32 }]), sop))).toMatch(/BitsAllocated 32 is not supported/);
  });
});

describe('the data set encoder', () => {
  it('uses the long length form for OB/OW/UN/SQ/UT, pads strings to even length (UI with NUL) and sorts tags', () => {
    const body = encodeDataSet([
      { tag: 0x00204000, vr: 'UT', value: 'odd' },
      { tag: 0x00080018, vr: 'UI', value: '1.2.3' },
      { tag: 0x00091010, vr: 'UN', value: Uint8Array.of(1, 2, 3) },
      { tag: 0x00081140, vr: 'SQ', value: [[{ tag: 0x00081155, vr: 'UI', value: '2.25.7' }], [{ tag: 0x00081155, vr: 'UI', value: '2.25.88' }]] },
    ]);
    const file = encodePart10([...imageElements(Uint16Array.of(7, 8)), { tag: 0x00204000, vr: 'UT', value: 'odd' }, { tag: 0x00081140, vr: 'SQ', value: [[{ tag: 0x00081155, vr: 'UI', value: '2.25.7' }]] }], {
      sopClassUid: MG_FOR_PRESENTATION_SOP_CLASS,
      sopInstanceUid: '2.25.6',
    });
    const parsed = parseDicom(file);
    expect(parsed.string('x00204000')).toBe('odd');
    expect(parsed.elements.x00204000!.length).toBe(4);
    expect(parsed.elements.x00081140!.items![0]!.dataSet!.string('x00081155')).toBe('2.25.7');
    // Byte level: UI (0008,0018) first, short form, NUL padding; UT long form (reserved 0000 + 32-bit length).
    expect(body.subarray(0, 8)).toEqual(Buffer.from([0x08, 0x00, 0x18, 0x00, 0x55, 0x49, 0x06, 0x00]));
    expect(body.subarray(8, 14).toString('latin1')).toBe('1.2.3\u0000');
    const ut = body.indexOf(Buffer.from([0x20, 0x00, 0x00, 0x40]));
    expect(body.subarray(ut + 4, ut + 12)).toEqual(Buffer.from([0x55, 0x54, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00]));
    expect(body.subarray(ut + 12, ut + 16).toString('latin1')).toBe('odd ');
    const un = body.indexOf(Buffer.from([0x09, 0x00, 0x10, 0x10]));
    expect(body.subarray(un + 4, un + 12)).toEqual(Buffer.from([0x55, 0x4e, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00]));
    expect(() => encodeDataSet([{ tag: 0x00100020, vr: 'LO', value: 'a' }, { tag: 0x00100020, vr: 'LO', value: 'b' }])).toThrow(/\(0010,0020\) given twice/);
  });

  it('formats decimal strings within 16 characters and refuses pixels that do not fit', () => {
    expect(ds(-32768)).toBe('-32768');
    expect(ds(0.5)).toBe('0.5');
    expect(ds(1 / 3).length).toBeLessThanOrEqual(16);
    expect(Number(ds(1 / 3))).toBeCloseTo(1 / 3, 10);
    expect(ds(123456789.123456789).length).toBeLessThanOrEqual(16);
    expect(() => writeDicomImage(spec16([0, 1, 2, 4096]))).toThrow(/pixel 3 = 4096 does not fit 12 stored bits/);
  });
});
