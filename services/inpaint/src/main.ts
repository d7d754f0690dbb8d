import { baseServiceSchema, createLogger, loadConfig, startService } from '@vanelia/runtime';
import { inpaintService } from './server';

const config = loadConfig('inpaint', baseServiceSchema('inpaint'));
const logger = createLogger({ service: 'inpaint', level: config.VANELIA_LOG_LEVEL });

await startService({ name: 'inpaint', config, logger, services: [inpaintService({ logger })] });
