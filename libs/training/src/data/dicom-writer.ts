/**
 * A small DICOM Part 10 writer (PS3.10 file format, PS3.5 data encoding): 128-byte preamble, "DICM", the group
 * 0002 file meta information with its group length, then the data set in Explicit VR Little Endian, elements in
 * ascending tag order, every value padded to an even length (UI with NUL, other strings with a space, binary with
 * 0x00), and the 4-byte length form for OB, OD, OF, OL, OV, OW, SQ, SV, UC, UN, UR, UT and UV.
 */

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Digital Mammography X-Ray Image Storage – For Presentation. */
export const MG_FOR_PRESENTATION_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.1.2';
/** Ours, under the UUID-derived 2.25 root (PS3.5 B.2). */
export const IMPLEMENTATION_CLASS_UID = '2.25.110954281964402406212391858425926196701';
export const IMPLEMENTATION_VERSION_NAME = 'FEDLEDGER_1';

export type StringVr = 'AE' | 'AS' | 'CS' | 'DA' | 'DS' | 'DT' | 'IS' | 'LO' | 'LT' | 'PN' | 'SH' | 'ST' | 'TM' | 'UC' | 'UI' | 'UR' | 'UT';
export type NumberVr = 'US' | 'SS' | 'UL' | 'SL' | 'FL' | 'FD';

/** One data element. `tag` is 0xGGGGEEEE. */
export type DicomElement =
  | { tag: number; vr: StringVr; value: string | readonly string[] }
  | { tag: number; vr: NumberVr; value: number | readonly number[] }
  | { tag: number; vr: 'OB' | 'UN'; value: Uint8Array }
  | { tag: number; vr: 'OW'; value: Uint16Array | Int16Array }
  | { tag: number; vr: 'SQ'; value: readonly (readonly DicomElement[])[] };

const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const NUMBER_WIDTH: Record<NumberVr, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8 };

/** A number as a DICOM Decimal String: at most 16 characters. */
export function ds(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`DS value must be finite, got ${value}`);
  let text = String(value);
  for (let digits = 15; text.length > 16 && digits > 0; digits--) text = String(Number(value.toPrecision(digits)));
  if (text.length > 16) text = value.toExponential(16 - 7);
  return text;
}

function tagText(tag: number): string {
  return `(${(tag >>> 16).toString(16).padStart(4, '0')},${(tag & 0xffff).toString(16).padStart(4, '0')})`.toUpperCase();
}

function stringBytes(element: { tag: number; vr: StringVr; value: string | readonly string[] }): Buffer {
  const text = typeof element.value === 'string' ? element.value : element.value.join('\\');
  const bytes = Buffer.from(text, element.vr === 'UI' ? 'ascii' : 'latin1');
  if (bytes.length % 2 === 0) return bytes;
  return Buffer.concat([bytes, Buffer.from([element.vr === 'UI' ? 0x00 : 0x20])]);
}

function numberBytes(vr: NumberVr, value: number | readonly number[]): Buffer {
  const values = typeof value === 'number' ? [value] : value;
  const width = NUMBER_WIDTH[vr];
  const out = Buffer.alloc(values.length * width);
  values.forEach((v, i) => {
    const at = i * width;
    if (vr === 'US') out.writeUInt16LE(v, at);
    else if (vr === 'SS') out.writeInt16LE(v, at);
    else if (vr === 'UL') out.writeUInt32LE(v, at);
    else if (vr === 'SL') out.writeInt32LE(v, at);
    else if (vr === 'FL') out.writeFloatLE(v, at);
    else out.writeDoubleLE(v, at);
  });
  return out;
}

function wordBytes(words: Uint16Array | Int16Array): Buffer {
  const out = Buffer.alloc(words.length * 2);
  if (words instanceof Uint16Array) for (let i = 0; i < words.length; i++) out.writeUInt16LE(words[i]!, i * 2);
  else for (let i = 0; i < words.length; i++) out.writeInt16LE(words[i]!, i * 2);
  return out;
}

function valueBytes(element: DicomElement): Buffer {
  switch (element.vr) {
    case 'OB':
    case 'UN':
      return element.value.length % 2 === 0 ? Buffer.from(element.value) : Buffer.concat([element.value, Buffer.alloc(1)]);
    case 'OW':
      return wordBytes(element.value);
    case 'SQ':
      return Buffer.concat(
        element.value.map((item) => {
          const body = encodeDataSet(item);
          return Buffer.concat([header(0xfffee000, undefined, body.length), body]);
        }),
      );
    case 'US':
    case 'SS':
    case 'UL':
    case 'SL':
    case 'FL':
    case 'FD':
      return numberBytes(element.vr, element.value);
    default:
      return stringBytes(element);
  }
}

/** Tag, VR and length; no VR for sequence items (vr undefined). */
function header(tag: number, vr: string | undefined, length: number): Buffer {
  const long = vr === undefined || LONG_LENGTH_VRS.has(vr);
  const out = Buffer.alloc(vr === undefined ? 8 : long ? 12 : 8);
  out.writeUInt16LE(tag >>> 16, 0);
  out.writeUInt16LE(tag & 0xffff, 2);
  if (vr === undefined) {
    out.writeUInt32LE(length, 4);
  } else if (long) {
    out.write(vr, 4, 'ascii');
    out.writeUInt32LE(length, 8); // bytes 6-7 reserved, zero
  } else {
    if (length > 0xfffe) throw new RangeError(`DICOM element ${tagText(tag)} ${vr}: ${length} bytes do not fit a 16-bit length`);
    out.write(vr, 4, 'ascii');
    out.writeUInt16LE(length, 6);
  }
  return out;
}

/** Encodes elements in Explicit VR Little Endian, sorted by tag; refuses a tag given twice. */
export function encodeDataSet(elements: readonly DicomElement[]): Buffer {
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  const parts: Buffer[] = [];
  sorted.forEach((element, i) => {
    if (i > 0 && sorted[i - 1]!.tag === element.tag) throw new Error(`DICOM element ${tagText(element.tag)} given twice`);
    const value = valueBytes(element);
    parts.push(header(element.tag, element.vr, value.length), value);
  });
  return Buffer.concat(parts);
}

export interface Part10Options {
  sopClassUid: string;
  sopInstanceUid: string;
  /**
   * The Transfer Syntax UID written in the file meta. The data set is always encoded Explicit VR Little Endian:
   * another value only serves to build files a reader must refuse (tests).
   */
  transferSyntaxUid?: string;
}

/** A whole Part 10 file: preamble, "DICM", file meta group (with its group length), data set. */
export function encodePart10(elements: readonly DicomElement[], options: Part10Options): Uint8Array {
  const metaBody = encodeDataSet([
    { tag: 0x00020001, vr: 'OB', value: Uint8Array.of(0x00, 0x01) },
    { tag: 0x00020002, vr: 'UI', value: options.sopClassUid },
    { tag: 0x00020003, vr: 'UI', value: options.sopInstanceUid },
    { tag: 0x00020010, vr: 'UI', value: options.transferSyntaxUid ?? EXPLICIT_VR_LITTLE_ENDIAN },
    { tag: 0x00020012, vr: 'UI', value: IMPLEMENTATION_CLASS_UID },
    { tag: 0x00020013, vr: 'SH', value: IMPLEMENTATION_VERSION_NAME },
  ]);
  if (elements.some((e) => e.tag >>> 16 === 0x0002)) throw new Error('group 0002 (file meta) is written by encodePart10 itself');
  const groupLength = encodeDataSet([{ tag: 0x00020000, vr: 'UL', value: metaBody.length }]);
  const preamble = Buffer.alloc(132);
  preamble.write('DICM', 128, 'ascii');
  const dataSet = encodeDataSet([
    { tag: 0x00080016, vr: 'UI', value: options.sopClassUid },
    { tag: 0x00080018, vr: 'UI', value: options.sopInstanceUid },
    ...elements,
  ]);
  const out = Buffer.concat([preamble, groupLength, metaBody, dataSet]);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** A mammogram to write: stored pixel values plus the attributes a reader needs to display them. */
export interface DicomImageSpec {
  rows: number;
  columns: number;
  /** Stored values, row-major: Uint8Array for 8 bits allocated, Uint16Array (or Int16Array when signed) for 16. */
  pixels: Uint8Array | Uint16Array | Int16Array;
  bitsAllocated: 8 | 16;
  bitsStored: number;
  /** 0 (default) unsigned; 1 two's complement, with an Int16Array. */
  pixelRepresentation?: 0 | 1;
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  rescaleSlope?: number;
  rescaleIntercept?: number;
  windowCenter?: number;
  windowWidth?: number;
  patientId: string;
  patientName?: string;
  view?: 'CC' | 'MLO';
  laterality?: 'L' | 'R';
  manufacturer?: string;
  manufacturerModelName?: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  /** YYYYMMDD; default 20000101 (never the clock, so files are reproducible). */
  studyDate?: string;
  seriesNumber?: number;
  instanceNumber?: number;
}

function checkPixels(spec: DicomImageSpec): void {
  const { rows, columns, pixels, bitsAllocated, bitsStored } = spec;
  const fail = (reason: string): never => {
    throw new RangeError(`writeDicomImage: ${reason}`);
  };
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows < 1 || columns < 1 || rows > 0xffff || columns > 0xffff) fail(`bad size ${columns}x${rows}`);
  if (pixels.length !== rows * columns) fail(`${pixels.length} pixels for ${columns}x${rows}`);
  if (!(bitsStored >= 1 && bitsStored <= bitsAllocated)) fail(`BitsStored ${bitsStored} with BitsAllocated ${bitsAllocated}`);
  const signed = spec.pixelRepresentation === 1;
  if (bitsAllocated === 8 && (!(pixels instanceof Uint8Array) || signed)) fail('8 bits allocated needs unsigned Uint8Array pixels');
  if (bitsAllocated === 16 && !(signed ? pixels instanceof Int16Array : pixels instanceof Uint16Array)) fail(`16 bits allocated needs ${signed ? 'Int16Array' : 'Uint16Array'} pixels`);
  const min = signed ? -(2 ** (bitsStored - 1)) : 0;
  const max = signed ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1;
  for (let i = 0; i < pixels.length; i++) if (pixels[i]! < min || pixels[i]! > max) fail(`pixel ${i} = ${pixels[i]} does not fit ${bitsStored} stored bits`);
}

/**
 * Encodes a For Presentation digital mammogram (Modality MG) as a DICOM Part 10 file in Explicit VR Little Endian.
 */
export function writeDicomImage(spec: DicomImageSpec): Uint8Array {
  checkPixels(spec);
  const elements: DicomElement[] = [
    { tag: 0x00080008, vr: 'CS', value: ['ORIGINAL', 'PRIMARY'] },
    { tag: 0x00080020, vr: 'DA', value: spec.studyDate ?? '20000101' },
    { tag: 0x00080060, vr: 'CS', value: 'MG' },
    { tag: 0x00080068, vr: 'CS', value: 'FOR PRESENTATION' },
    { tag: 0x00080070, vr: 'LO', value: spec.manufacturer ?? '' },
    { tag: 0x00100010, vr: 'PN', value: spec.patientName ?? spec.patientId },
    { tag: 0x00100020, vr: 'LO', value: spec.patientId },
    { tag: 0x00180015, vr: 'CS', value: 'BREAST' },
    { tag: 0x0020000d, vr: 'UI', value: spec.studyInstanceUid },
    { tag: 0x0020000e, vr: 'UI', value: spec.seriesInstanceUid },
    { tag: 0x00200011, vr: 'IS', value: String(spec.seriesNumber ?? 1) },
    { tag: 0x00200013, vr: 'IS', value: String(spec.instanceNumber ?? 1) },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: spec.photometric },
    { tag: 0x00280010, vr: 'US', value: spec.rows },
    { tag: 0x00280011, vr: 'US', value: spec.columns },
    { tag: 0x00280100, vr: 'US', value: spec.bitsAllocated },
    { tag: 0x00280101, vr: 'US', value: spec.bitsStored },
    { tag: 0x00280102, vr: 'US', value: spec.bitsStored - 1 },
    { tag: 0x00280103, vr: 'US', value: spec.pixelRepresentation ?? 0 },
    { tag: 0x00281052, vr: 'DS', value: ds(spec.rescaleIntercept ?? 0) },
    { tag: 0x00281053, vr: 'DS', value: ds(spec.rescaleSlope ?? 1) },
    { tag: 0x00281054, vr: 'LO', value: 'US' }, // RescaleType: unspecified
    { tag: 0x00280301, vr: 'CS', value: 'NO' }, // BurnedInAnnotation
    // PS3.3 C.8.11.7: IDENTITY with MONOCHROME2, INVERSE with MONOCHROME1.
    { tag: 0x20500020, vr: 'CS', value: spec.photometric === 'MONOCHROME1' ? 'INVERSE' : 'IDENTITY' },
    spec.bitsAllocated === 8 ? { tag: 0x7fe00010, vr: 'OB', value: spec.pixels as Uint8Array } : { tag: 0x7fe00010, vr: 'OW', value: spec.pixels as Uint16Array | Int16Array },
  ];
  if (spec.manufacturerModelName !== undefined) elements.push({ tag: 0x00081090, vr: 'LO', value: spec.manufacturerModelName });
  if (spec.view !== undefined) elements.push({ tag: 0x00185101, vr: 'CS', value: spec.view });
  if (spec.laterality !== undefined) elements.push({ tag: 0x00200062, vr: 'CS', value: spec.laterality });
  if (spec.windowCenter !== undefined || spec.windowWidth !== undefined) {
    if (spec.windowCenter === undefined || spec.windowWidth === undefined) throw new RangeError('writeDicomImage: give both windowCenter and windowWidth');
    elements.push({ tag: 0x00281050, vr: 'DS', value: ds(spec.windowCenter) }, { tag: 0x00281051, vr: 'DS', value: ds(spec.windowWidth) });
  }
  return encodePart10(elements, { sopClassUid: MG_FOR_PRESENTATION_SOP_CLASS, sopInstanceUid: spec.sopInstanceUid });
}
