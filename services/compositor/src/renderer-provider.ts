import { isVaneliaError, silentLogger, type Logger } from '@vanelia/runtime';
import { LayerRenderer, type LayerRendererOptions } from './layer-renderer';

/**
 * The one renderer a compositor process keeps: created on first use (or at start-up, for readiness), shared
 * by every job, and replaced if the GPU device is lost, so a driver reset costs one job, not the service.
 */
export interface RendererProvider {
  /** The live renderer, created (or re-created after device loss) on demand. */
  get(): Promise<LayerRenderer>;
  /** True once a renderer initialised and its device is alive. */
  ready(): Promise<boolean>;
  dispose(): void;
}

export function createRendererProvider(options: LayerRendererOptions = {}, logger: Logger = silentLogger): RendererProvider {
  let current: LayerRenderer | undefined;
  let creating: Promise<LayerRenderer> | undefined;
  let lost = false;

  const get = (): Promise<LayerRenderer> => {
    if (current && !lost) return Promise.resolve(current);
    creating ??= LayerRenderer.create(options, logger)
      .then((renderer) => {
        current?.dispose();
        current = renderer;
        lost = false;
        renderer.gpu.lost.then((reason) => {
          if (current !== renderer) return;
          lost = true;
          logger.error('GPU device lost; the renderer will be re-created for the next job', { reason });
        });
        return renderer;
      })
      .finally(() => {
        creating = undefined;
      });
    return creating;
  };

  return {
    get,
    async ready() {
      try {
        await get();
        return !lost;
      } catch (error) {
        logger.warn('renderer not ready', { error: isVaneliaError(error) ? error.message : error });
        return false;
      }
    },
    dispose() {
      current?.dispose();
      current = undefined;
    },
  };
}
