import { createLogger, startService } from '@vanelia/runtime';
import { loadPoseConfig } from './config';
import { createDust3rBackend } from './dust3r/dust3r-backend';
import { isDust3rInstalled } from './dust3r/dust3r-models';
import { poseService } from './server';

const config = loadPoseConfig();
const logger = createLogger({ service: 'pose', level: config.VANELIA_LOG_LEVEL });
const modelDir = config.VANELIA_POSE_MODEL_DIR;
const dust3r = isDust3rInstalled(modelDir)
  ? createDust3rBackend({ modelDir, provider: config.VANELIA_POSE_PROVIDERS, pairBatchSize: config.VANELIA_POSE_BATCH_SIZE, logger })
  : undefined;
logger.info('pose backends', { auto: dust3r ? 'dust3r' : 'tracker', modelDir });

await startService({
  name: 'pose',
  config,
  logger,
  services: [
    poseService({
      logger,
      modelDir,
      dust3r,
      tracker: { workingLongSidePx: config.VANELIA_TRACKER_LONG_SIDE_PX },
      anchor: { cameraHeightM: config.VANELIA_POSE_CAMERA_HEIGHT_CM / 100 },
    }),
  ],
  // The tracker needs nothing loaded; with a DUSt3R model, ready once its sessions are loaded and checked
  // against the contract (a broken install keeps the service out of rotation, with the reason in the log).
  checkReady: async () => {
    if (!dust3r) return true;
    await dust3r.load();
    return true;
  },
  onStopped: async () => {
    await dust3r?.close();
  },
});
