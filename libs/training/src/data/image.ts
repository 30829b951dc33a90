/** What a reader learned about an image besides its pixels (DICOM attributes, or their PNG equivalents). */
export interface ImageMeta {
  format: 'dicom' | 'png';
  /** MONOCHROME1 / MONOCHROME2 for DICOM; MONOCHROME2 or RGB (converted to luminance) for PNG. */
  photometric: string;
  bitsAllocated: number;
  bitsStored: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** The VOI window applied (first value when the file holds several). */
  windowCenter?: number;
  windowWidth?: number;
  /** How stored values became display values: the file's VOI window, or the image's own modality min–max. */
  voi: 'window' | 'minmax' | 'none';
  patientId?: string;
  /** ViewPosition (CC, MLO, …). */
  view?: string;
  /** ImageLaterality (or Laterality): L or R. */
  laterality?: string;
  manufacturer?: string;
}

/** One greyscale image ready for a model: row-major display values in [0, 1], high = bright (dense tissue). */
export interface GrayImage {
  width: number;
  height: number;
  data: Float32Array;
  meta: ImageMeta;
}

/** An image that cannot be read: the message names the file and the reason. */
export class ImageReadError extends Error {
  override readonly name = 'ImageReadError';

  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/** The name to use in errors for an in-memory image. */
export function sourceName(source: string | Uint8Array, name: string | undefined): string {
  return typeof source === 'string' ? source : (name ?? '<bytes>');
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Sniffs the format from the bytes (PNG signature, or "DICM" at offset 128), not the file name. */
export function imageFormatOf(bytes: Uint8Array): 'dicom' | 'png' | undefined {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d) return 'dicom';
  return undefined;
}
