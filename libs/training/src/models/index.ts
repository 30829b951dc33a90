// Importing a model file registers it in the zoo.
export { smallCnn } from './small-cnn';
export { denseTest } from './dense-test';
export { modelNames, modelSpec, registerModel, seededGlorot, type ModelBuildOptions, type ModelSpec } from './zoo';
export { resnet18, resnet50 } from './resnet';
export { densenet121 } from './densenet';
export { efficientnetB0 } from './efficientnet';
export { mlp } from './mlp';
export { buildModel, CLASSES, initialWeightsOf, modelWeights, setModelWeights } from './weights';
