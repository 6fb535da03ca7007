import { describe, expect, it } from '@jest/globals';
import { runToExit } from '../../tools/process/index.js';

/** The built service started with this environment only, to its exit (it must not start). */
const startWith = (env: Record<string, string>) =>
  runToExit(process.execPath, ['dist/main.js'], { env: { PATH: process.env.PATH ?? '', ...env }, timeoutMs: 30_000 });

/** CONTRACT §5: a wrong value stops the service with a clear message naming the variable. */
describe('start-up with a bad configuration', () => {
  it.each([
    ['PORT', 'eighty'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['IDEMPOTENCY_ERROR_TTL_SECONDS', '0'],
  ])('refuses to start when %s=%s, naming the variable, without a stack trace', async (name, value) => {
    const run = await startWith({ NODE_ENV: 'test', [name]: value });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(name);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses to start in production without API keys', async () => {
    const run = await startWith({ NODE_ENV: 'production' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('API_KEYS must be set in production');
  });
});
