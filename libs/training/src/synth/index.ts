export { CENTRES, MIN_SMALLEST_CENTRE, curveFunction, planCounts, type CentreSpec, type ContrastCurve, type CountPlan, type ScannerProfile } from './centres';
export { Rng, uidFrom } from './random';
export { lesionShape, renderTissue, scannerPixels, type LesionShape, type ViewSpec } from './mammo';
export { TABULAR_FEATURES, malignancyProbability, tabularCentre } from './tabular';
export { SYNTH_VERSION, synthesize, type SynthCentreSummary, type SynthKind, type SynthManifest, type SynthOptions, type SynthProgress } from './synth';
