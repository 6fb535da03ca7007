import { describe, expect, it } from '@jest/globals';
import { InvalidConfigError, loadAppConfig } from '../../src/config/index.js';

describe('loadAppConfig', () => {
  it('has the documented defaults, production first', () => {
    expect(() => loadAppConfig({})).toThrow('API_KEYS must be set in production');
    const config = loadAppConfig({ API_KEYS: 'm:sk_test_0123456789abcdef' });
    expect(config).toMatchObject({
      NODE_ENV: 'production',
      PLAYGROUND: false,
      API_DOCS: false,
      PORT: 3000,
      WORKER_PORT: 3001,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_LOCK_URLS: [],
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/payments',
      DATABASE_POOL_SIZE: 10,
      DATABASE_STATEMENT_TIMEOUT_MS: 5000,
      DATABASE_MIGRATE: true,
      BROKER_URL: 'amqp://guest:guest@127.0.0.1:5672',
      BROKER_PUBLISH_TIMEOUT_MS: 5000,
      EVENTS_MAX_DELIVERIES: 5,
      IDEMPOTENCY_RESULT_TTL_SECONDS: 86_400,
      IDEMPOTENCY_ERROR_TTL_SECONDS: 30,
      IDEMPOTENCY_WAIT_MS: 0,
      BODY_LIMIT: '16kb',
      EVENTS_WORKER: true,
      EVENTS_POLL_INTERVAL_MS: 200,
      EVENTS_RETENTION_SECONDS: 604_800,
      CLEANUP_INTERVAL_SECONDS: 3600,
      EVENTS_ACK_DELAY_MS: 0,
      RECONCILE_AFTER_SECONDS: 60,
      RECONCILE_INTERVAL_MS: 10_000,
      RECONCILE_BATCH_SIZE: 100,
      WEBHOOK_DELIVERY: true,
    });
  });

  it('turns the playground and Swagger UI on outside production unless switched off', () => {
    expect(loadAppConfig({ NODE_ENV: 'development' })).toMatchObject({ PLAYGROUND: true, API_DOCS: true });
    expect(loadAppConfig({ NODE_ENV: 'test', PLAYGROUND: 'false', API_DOCS: 'false' })).toMatchObject({ PLAYGROUND: false, API_DOCS: false });
  });

  it('reads booleans and the events settings from their text form', () => {
    const config = loadAppConfig({
      NODE_ENV: 'test',
      EVENTS_WORKER: 'false',
      WEBHOOK_DELIVERY: 'FALSE',
      EVENTS_POLL_INTERVAL_MS: '500',
      EVENTS_RETENTION_SECONDS: '3600',
      WEBHOOK_URL: 'http://hooks.internal:8080/x',
    });
    expect(config).toMatchObject({
      EVENTS_WORKER: false,
      WEBHOOK_DELIVERY: false,
      EVENTS_POLL_INTERVAL_MS: 500,
      EVENTS_RETENTION_SECONDS: 3600,
      WEBHOOK_URL: 'http://hooks.internal:8080/x',
    });
  });

  it('converts numbers and lists from their text form', () => {
    const config = loadAppConfig({ NODE_ENV: 'test', PORT: '8080', REDIS_LOCK_URLS: 'redis://a:1, redis://b:2' });
    expect(config.PORT).toBe(8080);
    expect(config.REDIS_LOCK_URLS).toEqual(['redis://a:1', 'redis://b:2']);
  });

  it('reads the database settings, their bounds included', () => {
    const lowest = loadAppConfig({
      NODE_ENV: 'test',
      DATABASE_URL: 'postgresql://app:secret@db.internal:6432/payments?sslmode=require',
      DATABASE_POOL_SIZE: '1',
      DATABASE_STATEMENT_TIMEOUT_MS: '50',
      DATABASE_MIGRATE: 'false',
    });
    expect(lowest).toMatchObject({
      DATABASE_URL: 'postgresql://app:secret@db.internal:6432/payments?sslmode=require',
      DATABASE_POOL_SIZE: 1,
      DATABASE_STATEMENT_TIMEOUT_MS: 50,
      DATABASE_MIGRATE: false,
    });
    const highest = loadAppConfig({ NODE_ENV: 'test', DATABASE_POOL_SIZE: '1000', DATABASE_STATEMENT_TIMEOUT_MS: '600000', DATABASE_MIGRATE: 'TRUE' });
    expect(highest).toMatchObject({ DATABASE_POOL_SIZE: 1000, DATABASE_STATEMENT_TIMEOUT_MS: 600_000, DATABASE_MIGRATE: true });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['REDIS_URL', 'http://localhost'],
    ['IDEMPOTENCY_ERROR_TTL_SECONDS', '0'],
    ['NODE_ENV', 'staging'],
    ['ADMIN_TOKEN', 'short'],
    ['EVENTS_WORKER', 'yes'],
    ['WEBHOOK_DELIVERY', '1'],
    ['EVENTS_POLL_INTERVAL_MS', '5'],
    ['CLEANUP_INTERVAL_SECONDS', '-1'],
    ['DATABASE_URL', 'mysql://root@127.0.0.1/payments'],
    ['DATABASE_URL', 'not a url'],
    ['DATABASE_POOL_SIZE', '0'],
    ['DATABASE_POOL_SIZE', '1001'],
    ['DATABASE_POOL_SIZE', 'ten'],
    ['DATABASE_STATEMENT_TIMEOUT_MS', '49'],
    ['DATABASE_STATEMENT_TIMEOUT_MS', '600001'],
    ['DATABASE_MIGRATE', 'yes'],
    ['DATABASE_MIGRATE', '0'],
    ['BROKER_URL', 'http://127.0.0.1:5672'],
    ['BROKER_URL', 'rabbitmq'],
    ['BROKER_PUBLISH_TIMEOUT_MS', '99'],
    ['EVENTS_MAX_DELIVERIES', '0'],
    ['EVENTS_MAX_DELIVERIES', '101'],
    ['EVENTS_ACK_DELAY_MS', '-1'],
    ['RECONCILE_AFTER_SECONDS', '0'],
    ['RECONCILE_AFTER_SECONDS', 'soon'],
    ['RECONCILE_INTERVAL_MS', '10'],
    ['RECONCILE_BATCH_SIZE', '0'],
    ['WEBHOOK_SECRET', 'too-short'],
    ['WEBHOOK_URL', 'ftp://example.com'],
    ['PLAYGROUND', 'on'],
    ['API_DOCS', 'yes'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadAppConfig({ NODE_ENV: 'test', [name]: value })).toThrow(InvalidConfigError);
    expect(() => loadAppConfig({ NODE_ENV: 'test', [name]: value })).toThrow(name);
  });

  it('refuses a minimum gateway delay above the maximum', () => {
    expect(() => loadAppConfig({ NODE_ENV: 'test', GATEWAY_MIN_DELAY_MS: '500', GATEWAY_MAX_DELAY_MS: '100' })).toThrow('GATEWAY_MIN_DELAY_MS');
  });
  it('refuses the test-only ack delay in production', () => {
    expect(() => loadAppConfig({ NODE_ENV: 'production', API_KEYS: 'm:sk_test_0123456789abcdef', EVENTS_ACK_DELAY_MS: '100' })).toThrow('EVENTS_ACK_DELAY_MS');
  });
});
