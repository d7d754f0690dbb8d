// DUSt3R camera backend: the model contract, the backend object and the pieces tests and benchmarks use.
export * from './contract';
export * from './dust3r-backend';
export { isDust3rInstalled, loadDust3rModels, type Dust3rModels } from './dust3r-models';
export * from './scene-graph';
export * from './pair-batches';
export { alignGlobally, alignGloballyAsync, GLOBAL_ALIGNMENT_DEFAULTS, type GlobalAlignmentOptions, type GlobalAlignmentResult, type AlignedCamera } from './global-alignment';
export { modelGeometry, intrinsicsAtOriginal, type ModelGeometry } from './preprocess';
