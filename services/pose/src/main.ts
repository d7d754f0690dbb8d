import { baseServiceSchema, createLogger, loadConfig, startService } from '@vanelia/runtime';
import { poseService } from './server';

const config = loadConfig('pose', baseServiceSchema('pose'));
const logger = createLogger({ service: 'pose', level: config.VANELIA_LOG_LEVEL });

await startService({ name: 'pose', config, logger, services: [poseService({ logger })] });
