export { ImageReadError, imageFormatOf, type GrayImage, type ImageMeta } from './image';
export {
  readDicomImage,
  writeDicomImage,
  encodePart10,
  encodeDataSet,
  ds,
  EXPLICIT_VR_LITTLE_ENDIAN,
  MG_FOR_PRESENTATION_SOP_CLASS,
  type DicomElement,
  type DicomImageSpec,
  type Part10Options,
} from './dicom';
export { readPngImage } from './png';
export { parseCsv, csvTable, toCsv, type CsvRecord, type CsvTable } from './csv';
export {
  DatasetError,
  LABEL_NAMES,
  decodeImage,
  formatIssue,
  loadImageDataset,
  loadTabularDataset,
  scanImageDataset,
  type DataIssue,
  type DataLoadOptions,
  type ImageDataset,
  type ImageDatasetOptions,
  type ImageExample,
  type OnDataError,
  type TabularDataset,
  type TabularDatasetOptions,
} from './dataset';
export { mapBounded } from './pool';
export { inspectDataset, type CentreInspection, type DatasetInspection, type InspectOptions } from './inspect';
