/** Centre-side preprocessing: patient-level splits, resizing, Nyúl–Udupa standardisation, normalisation, augmentation, metrics. */
export { patientSplit, testSplit, type PatientSplit, type PatientSplitOptions, type PatientTestSplit, type SplitExample, type TestSplitOptions } from './split';
export { createRandomSource, deriveSeed, type RandomSource } from './random';
export type { Image2D, Size2D } from './types';
