/** Centre-side preprocessing: patient-level splits, resizing, Nyúl–Udupa standardisation, normalisation, augmentation, metrics. */
export { patientSplit, testSplit, type PatientSplit, type PatientSplitOptions, type PatientTestSplit, type SplitExample, type TestSplitOptions } from './split';
export { resize, resizeInto } from './resize';
export {
  HISTOGRAM_BINS,
  imageLandmarks,
  landmarkMapping,
  learnStandardLandmarks,
  matchHistogram,
  validateLandmarkConfig,
  type LandmarkConfig,
  type LandmarkPercentiles,
  type LearnLandmarksOptions,
} from './histogram';
export { DEFAULT_NORMALISATION, normaliseInPlace, preprocessBatch, preprocessImage, type Normalisation, type PreprocessOptions } from './normalise';
export {
  DEFAULT_AUGMENT,
  applyAugmentation,
  augment,
  augmentBatch,
  flipHorizontal,
  sampleAugmentation,
  type AugmentOptions,
  type AugmentParams,
} from './augment';
export {
  LOSS_EPSILON,
  binaryMetrics,
  weightedMean,
  type BinaryMetrics,
  type MetricsSummary,
  type NullableMetric,
  type WeightedMetrics,
} from './metrics';
export { createRandomSource, deriveSeed, shuffleInPlace, type RandomSource } from './random';
export type { Image2D, Size2D } from './types';
