// @vanelia/inpaint's domain API (the server and entry live in server.ts and main.ts).
export * from './refine-job';
export * from './inpaint-engine';
export * from './presets';
export * from './config';
export * from './models/model-manifest';
export * from './models/model-contract';
export * from './models/model-check';
export * from './models/model-set';
export * from './models/tiny-models';
export * from './tokenizer/clip-tokenizer';
export * from './tokenizer/tokenizer-files';
export * from './scheduler/scheduler';
export * from './scheduler/create-scheduler';
export * from './scheduler/dpm-solver';
export * from './scheduler/ddim';
export { modelsCheckCommand, MODELS_CHECK_USAGE } from './cli-models-check';
