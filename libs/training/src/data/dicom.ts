import { readFileSync } from 'node:fs';
import { parseDicom, type DataSet } from 'dicom-parser';
import { ImageReadError, sourceName, type GrayImage, type ImageMeta } from './image';

export { MG_FOR_PRESENTATION_SOP_CLASS, EXPLICIT_VR_LITTLE_ENDIAN, encodePart10, encodeDataSet, ds, writeDicomImage, type DicomElement, type DicomImageSpec, type Part10Options } from './dicom-writer';

/** Uncompressed transfer syntaxes this reader decodes (deflate is undone by dicom-parser itself). */
const READABLE_TRANSFER_SYNTAXES: Record<string, string> = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
};
const BIG_ENDIAN = '1.2.840.10008.1.2.2';

const COMPRESSED_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

/** dicom-parser throws strings, Errors, or `{ exception, dataSet }`; one readable line out of any of them. */
function parserMessage(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message;
  if (err !== null && typeof err === 'object' && 'exception' in err) return parserMessage(err.exception);
  return String(err);
}

function parse(bytes: Uint8Array, fail: (reason: string) => never): DataSet {
  if (bytes.length < 132) fail(`not a DICOM file: ${bytes.length} bytes, shorter than the 128-byte preamble and "DICM" marker`);
  if (String.fromCharCode(bytes[128]!, bytes[129]!, bytes[130]!, bytes[131]!) !== 'DICM') fail('not a DICOM Part 10 file: no "DICM" marker at byte 128');
  try {
    return parseDicom(bytes);
  } catch (err) {
    // On a parse error dicom-parser hands over what it had read: an element running past the end means truncation.
    const partial = err !== null && typeof err === 'object' && 'dataSet' in err ? (err.dataSet as DataSet | undefined) : undefined;
    const cut = partial && Object.values(partial.elements).find((e) => e.length !== 0xffffffff && e.dataOffset + e.length > partial.byteArray.length);
    if (partial && cut) {
      fail(`truncated: element ${tagName(cut.tag)} needs ${cut.length} bytes from offset ${cut.dataOffset} but the file ends at ${partial.byteArray.length}`);
    }
    return fail(`cannot parse the DICOM data set (truncated or corrupt file?): ${parserMessage(err).replace(/^dicomParser[.:]\w*[.:]?\s*/, '')}`);
  }
}

/** x7fe00010 → (7FE0,0010) */
function tagName(tag: string): string {
  return `(${tag.slice(1, 5)},${tag.slice(5, 9)})`.toUpperCase();
}

/** The VOI LUT functions of PS3.3 C.11.2.1.2 and C.11.2.1.3, output in [0, 1]. */
function voiFunction(kind: string, center: number, width: number): (x: number) => number {
  if (kind === 'SIGMOID') return (x) => 1 / (1 + Math.exp((-4 * (x - center)) / width));
  if (kind === 'LINEAR_EXACT') {
    const lo = center - width / 2;
    return (x) => (x <= lo ? 0 : x > center + width / 2 ? 1 : (x - center) / width + 0.5);
  }
  // LINEAR (the default): x <= c - 0.5 - (w-1)/2 -> min; x > c - 0.5 + (w-1)/2 -> max; else ((x - (c - 0.5)) / (w-1) + 0.5).
  const c = center - 0.5;
  const half = (width - 1) / 2;
  if (width <= 1) return (x) => (x > c ? 1 : 0);
  return (x) => (x <= c - half ? 0 : x > c + half ? 1 : (x - c) / (width - 1) + 0.5);
}

interface PixelLayout {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
}

function pixelLayout(ds: DataSet, fail: (reason: string) => never): PixelLayout {
  const rows = ds.uint16('x00280010');
  const columns = ds.uint16('x00280011');
  if (!rows || !columns) fail(`missing or zero Rows/Columns (${rows ?? 'absent'} x ${columns ?? 'absent'})`);
  const bitsAllocated = ds.uint16('x00280100');
  if (bitsAllocated !== 8 && bitsAllocated !== 16) fail(`BitsAllocated ${bitsAllocated ?? 'absent'} is not supported (8 or 16)`);
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  const highBit = ds.uint16('x00280102') ?? bitsStored - 1;
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit >= bitsAllocated || highBit + 1 < bitsStored) {
    fail(`inconsistent BitsAllocated ${bitsAllocated} / BitsStored ${bitsStored} / HighBit ${highBit}`);
  }
  const pixelRepresentation = ds.uint16('x00280103') ?? 0;
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) fail(`PixelRepresentation ${pixelRepresentation} (0 or 1)`);
  return { rows, columns, bitsAllocated, bitsStored, highBit, pixelRepresentation };
}

/** Stored values → modality values (slope × stored + intercept), honouring BitsStored, HighBit and the sign. */
function modalityValues(ds: DataSet, layout: PixelLayout, slope: number, intercept: number, bigEndian: boolean, fail: (reason: string) => never): Float32Array {
  const element = ds.elements.x7fe00010;
  if (element === undefined) fail('no pixel data (7FE0,0010)');
  if (element.encapsulatedPixelData === true || element.hadUndefinedLength === true) fail('encapsulated (compressed) pixel data is not supported');
  const count = layout.rows * layout.columns;
  const bytesPer = layout.bitsAllocated / 8;
  const needed = count * bytesPer;
  if (element.length < needed) fail(`pixel data holds ${element.length} bytes, ${layout.columns}x${layout.rows} at ${layout.bitsAllocated} bits needs ${needed}`);
  const bytes = ds.byteArray;
  const start = element.dataOffset;
  if (start + needed > bytes.length) fail(`truncated: pixel data needs ${needed} bytes from offset ${start} but the file ends at ${bytes.length}`);
  const shift = layout.highBit + 1 - layout.bitsStored;
  const mask = 2 ** layout.bitsStored - 1;
  const signBit = 2 ** (layout.bitsStored - 1);
  const span = 2 ** layout.bitsStored;
  const signed = layout.pixelRepresentation === 1;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let raw: number;
    if (bytesPer === 1) raw = bytes[start + i]!;
    else {
      const a = bytes[start + 2 * i]!;
      const b = bytes[start + 2 * i + 1]!;
      raw = bigEndian ? (a << 8) | b : a | (b << 8);
    }
    let v = (raw >>> shift) & mask;
    if (signed && v >= signBit) v -= span;
    out[i] = v * slope + intercept;
  }
  return out;
}

/** Applies the VOI window (or the modality min–max without one) and the photometric inversion, in place. */
function toDisplay(values: Float32Array, meta: ImageMeta, voiKind: string): void {
  let map: (x: number) => number;
  if (meta.voi === 'window') {
    map = voiFunction(voiKind, meta.windowCenter!, meta.windowWidth!);
  } else {
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const range = max - min;
    map = range > 0 ? (x) => (x - min) / range : () => 0;
  }
  const invert = meta.photometric === 'MONOCHROME1';
  for (let i = 0; i < values.length; i++) {
    const y = map(values[i]!);
    values[i] = invert ? 1 - y : y;
  }
}

/**
 * Reads one uncompressed, single-frame, greyscale DICOM image (a path, read synchronously, or the file's bytes)
 * into display values in [0, 1] where high = bright tissue for every centre: the stored values through the modality
 * LUT (rescale slope/intercept), the VOI window (its first value when several; PS3.3 C.11.2.1.2 LINEAR, or
 * LINEAR_EXACT / SIGMOID when the file says so; without a window the image's own modality min–max), and
 * MONOCHROME1 inverted. Throws ImageReadError naming the file and the reason for anything else: not DICOM,
 * truncated, compressed transfer syntax, several frames, colour, no pixel data.
 */
export function readDicomImage(source: string | Uint8Array, name?: string): GrayImage {
  const file = sourceName(source, name);
  const fail: (reason: string) => never = (reason) => {
    throw new ImageReadError(file, reason);
  };
  let bytes: Uint8Array;
  try {
    bytes = typeof source === 'string' ? readFileSync(source) : source;
  } catch (err) {
    return fail(`cannot read: ${(err as Error).message}`);
  }
  const ds = parse(bytes, fail);
  const transferSyntax = ds.string('x00020010') ?? '';
  if (!(transferSyntax in READABLE_TRANSFER_SYNTAXES)) {
    const known = COMPRESSED_NAMES[transferSyntax];
    fail(
      known !== undefined
        ? `compressed transfer syntax ${transferSyntax} (${known}) is not supported: decompress first (e.g. \`gdcmconv --raw\` or \`dcmdjpeg\`)`
        : `transfer syntax ${transferSyntax || '(missing)'} is not supported (uncompressed Little/Big Endian only)`,
    );
  }
  const frames = ds.intString('x00280008');
  if (frames !== undefined && frames > 1) fail(`multi-frame image (${frames} frames) is not supported: one frame per file`);
  const samples = ds.uint16('x00280002') ?? 1;
  const photometric = ds.string('x00280004');
  if (samples !== 1 || (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')) {
    fail(`colour or non-greyscale image (PhotometricInterpretation ${photometric ?? 'missing'}, SamplesPerPixel ${samples}) is not supported: MONOCHROME1 or MONOCHROME2 only`);
  }
  const layout = pixelLayout(ds, fail);
  const rescaleSlope = ds.floatString('x00281053') ?? 1;
  const rescaleIntercept = ds.floatString('x00281052') ?? 0;
  if (!Number.isFinite(rescaleSlope) || rescaleSlope === 0 || !Number.isFinite(rescaleIntercept)) fail(`unusable RescaleSlope ${rescaleSlope} / RescaleIntercept ${rescaleIntercept}`);
  const windowCenter = ds.floatString('x00281050', 0);
  const windowWidth = ds.floatString('x00281051', 0);
  const hasWindow = windowCenter !== undefined && windowWidth !== undefined && Number.isFinite(windowCenter) && Number.isFinite(windowWidth) && windowWidth > 0;
  const meta: ImageMeta = {
    format: 'dicom',
    photometric,
    bitsAllocated: layout.bitsAllocated,
    bitsStored: layout.bitsStored,
    pixelRepresentation: layout.pixelRepresentation,
    rescaleSlope,
    rescaleIntercept,
    ...(hasWindow ? { windowCenter, windowWidth } : {}),
    voi: hasWindow ? 'window' : 'minmax',
    patientId: ds.string('x00100020'),
    view: ds.string('x00185101'),
    laterality: ds.string('x00200062') ?? ds.string('x00200060'),
    manufacturer: ds.string('x00080070'),
  };
  for (const key of ['patientId', 'view', 'laterality', 'manufacturer'] as const) if (meta[key] === undefined || meta[key] === '') delete meta[key];
  const data = modalityValues(ds, layout, rescaleSlope, rescaleIntercept, transferSyntax === BIG_ENDIAN, fail);
  toDisplay(data, meta, (ds.string('x00281056') ?? 'LINEAR').toUpperCase());
  return { width: layout.columns, height: layout.rows, data, meta };
}
