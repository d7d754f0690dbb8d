import { describe, expect, it } from 'vitest';
import { baseServiceSchema, env, loadConfig } from '../src/config';
import { VaneliaError } from '../src/errors';

describe('loadConfig', () => {
  it('applies defaults and parses values', () => {
    const config = loadConfig('decoder', { ...baseServiceSchema('decoder'), X: env.bool(false) }, { VANELIA_PORT: '6000', X: 'yes' });
    expect(config.VANELIA_PORT).toBe(6000);
    expect(config.VANELIA_METRICS_PORT).toBe(9464);
    expect(config.X).toBe(true);
  });

  it('reports every problem at once, naming the variables', () => {
    const attempt = () => loadConfig('pose', baseServiceSchema('pose'), { VANELIA_PORT: 'eighty', VANELIA_LOG_LEVEL: 'loud', VANELIA_SHUTDOWN_GRACE_MS: '-1' });
    expect(attempt).toThrow(VaneliaError);
    expect(attempt).toThrow(/VANELIA_PORT="eighty" is not an integer; VANELIA_LOG_LEVEL="loud" is not one of debug, info, warn, error, silent; VANELIA_SHUTDOWN_GRACE_MS="-1" is not >= 0/);
  });

  it('requires variables without a default', () => {
    expect(() => loadConfig('gateway', { TOKEN: env.string() }, {})).toThrow(/gateway: invalid configuration: TOKEN is required/);
  });
});
