// Public surface of the compositor stage (the CLI, the gateway's local mesh, benchmarks and tools use these).
export { parseRenderArgs, renderCommand, type RenderCommandOptions, type RenderCommandResult } from './cli-render';
export { CompositorJob, type CompositorJobConfig, type CompositorJobOptions, type CompositedFrame, type FrameInput } from './compositor-job';
export { createRendererProvider, type RendererProvider } from './renderer-provider';
export { LayerRenderer, type LayerRendererOptions, type RenderedLayers } from './layer-renderer';
export { openProductSession, passThroughSession, type CompositeJobSession, type OpenCompositeJob } from './job-session';
export { compositorService } from './server';
export { loadProductModel, type ProductModel } from './product-model';
export { readTransformsJson, parseTransformsJson } from './transforms-json';
export type { CameraPose, Mat4, PinholeIntrinsics } from './camera-model';
