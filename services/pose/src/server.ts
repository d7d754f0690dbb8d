import { PoseService, type PoseServer } from '@vanelia/proto';
import { VaneliaError, streamHandler, unaryHandler, type Logger, type ServiceRegistration } from '@vanelia/runtime';

export interface PoseServerOptions {
  logger: Logger;
}

// Walking-skeleton adapter: the service starts and answers health; tracking lands with the pose issue.
export function poseService(options: PoseServerOptions): ServiceRegistration {
  const ctx = { stage: 'pose' as const, logger: options.logger };
  const notYet = (): never => {
    throw new VaneliaError('pose', 'NOT_IMPLEMENTED', 'camera tracking is not available in this build.', { code: 'UNIMPLEMENTED' });
  };
  const implementation: PoseServer = {
    track: streamHandler(ctx, 'Track', async () => notYet()),
    importTrack: unaryHandler(ctx, 'ImportTrack', async () => notYet()),
  };
  return { fullName: 'vanelia.v1.Pose', definition: PoseService, implementation };
}
