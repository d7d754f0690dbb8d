import { baseServiceSchema, createLogger, loadConfig, startService } from '@vanelia/runtime';
import { compositorService } from './server';

const config = loadConfig('compositor', baseServiceSchema('compositor'));
const logger = createLogger({ service: 'compositor', level: config.VANELIA_LOG_LEVEL });

await startService({
  name: 'compositor',
  config,
  logger,
  services: [compositorService({ logger })],
});
