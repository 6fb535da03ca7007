import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';

/** CONTRACT §5: a wrong value stops the service with a clear message naming the variable. */
describe('start-up with a bad configuration', () => {
  it.each([
    ['PORT', 'eighty'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['IDEMPOTENCY_ERROR_TTL_SECONDS', '0'],
  ])('refuses to start when %s=%s, naming the variable, without a stack trace', (name, value) => {
    const run = spawnSync(process.execPath, ['dist/main.js'], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', [name]: value },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(name);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses to start in production without API keys', () => {
    const run = spawnSync(process.execPath, ['dist/main.js'], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('API_KEYS must be set in production');
  });
});
