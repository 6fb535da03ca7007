import { describe, expect, it } from '@jest/globals';
import { InvalidConfigError, loadAppConfig } from '../../src/config/index.js';

describe('loadAppConfig', () => {
  it('has the documented defaults', () => {
    const config = loadAppConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_LOCK_URLS: [],
      IDEMPOTENCY_RESULT_TTL_SECONDS: 86_400,
      IDEMPOTENCY_ERROR_TTL_SECONDS: 30,
      IDEMPOTENCY_WAIT_MS: 0,
      BODY_LIMIT: '16kb',
    });
  });

  it('converts numbers and lists from their text form', () => {
    const config = loadAppConfig({ PORT: '8080', REDIS_LOCK_URLS: 'redis://a:1, redis://b:2' });
    expect(config.PORT).toBe(8080);
    expect(config.REDIS_LOCK_URLS).toEqual(['redis://a:1', 'redis://b:2']);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['REDIS_URL', 'http://localhost'],
    ['IDEMPOTENCY_ERROR_TTL_SECONDS', '0'],
    ['NODE_ENV', 'staging'],
    ['ADMIN_TOKEN', 'short'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadAppConfig({ [name]: value })).toThrow(InvalidConfigError);
    expect(() => loadAppConfig({ [name]: value })).toThrow(name);
  });

  it('refuses a minimum gateway delay above the maximum', () => {
    expect(() => loadAppConfig({ GATEWAY_MIN_DELAY_MS: '500', GATEWAY_MAX_DELAY_MS: '100' })).toThrow('GATEWAY_MIN_DELAY_MS');
  });
});
