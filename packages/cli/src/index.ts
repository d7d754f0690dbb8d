export * from './local-mesh';
export * from './gateway-calls';
export * from './progress-bar';
export { main, runCli, specFromArgs, SAMPLE_PRODUCT, SAMPLE_VIDEO } from './main';
