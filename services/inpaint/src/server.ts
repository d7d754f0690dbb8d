import { InpaintService, type InpaintServer, type ModelStatus, type ModelStatusRequest } from '@vanelia/proto';
import { VaneliaError, streamHandler, unaryHandler, type Logger, type ServiceRegistration } from '@vanelia/runtime';

export interface InpaintServerOptions {
  logger: Logger;
}

// Walking-skeleton adapter: the service starts and answers health; refinement lands with the inpaint issue.
export function inpaintService(options: InpaintServerOptions): ServiceRegistration {
  const ctx = { stage: 'inpaint' as const, logger: options.logger };
  const implementation: InpaintServer = {
    refine: streamHandler(ctx, 'Refine', async () => {
      throw new VaneliaError('inpaint', 'NOT_IMPLEMENTED', 'refinement is not available in this build.', { code: 'UNIMPLEMENTED' });
    }),
    getModelStatus: unaryHandler<ModelStatusRequest, ModelStatus>(ctx, 'GetModelStatus', async () => ({
      installed: false, modelDir: '', provider: '', precision: '', problems: ['refinement is not available in this build'],
    })),
  };
  return { fullName: 'vanelia.v1.Inpaint', definition: InpaintService, implementation };
}
