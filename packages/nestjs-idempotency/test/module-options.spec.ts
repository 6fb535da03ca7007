import { afterEach, describe, expect, it } from '@jest/globals';
import { MemoryIdempotencyStore } from '../src/index.js';
import { resolveOptions } from '../src/idempotency.module-definition.js';

describe('module options', () => {
  const nodeEnv = process.env.NODE_ENV;
  afterEach(() => {
    process.env.NODE_ENV = nodeEnv;
  });

  it('refuses the in-memory store under NODE_ENV=production, saying what to use instead', () => {
    process.env.NODE_ENV = 'production';
    expect(() => resolveOptions({})).toThrow(/in-memory store .* RedisIdempotencyStore.*allowInProduction: true/s);
    expect(() => resolveOptions({ store: new MemoryIdempotencyStore() })).toThrow(/NODE_ENV=production/);
  });

  it('takes the in-memory store in production when it is explicitly allowed, and anywhere else', () => {
    process.env.NODE_ENV = 'production';
    const allowed = new MemoryIdempotencyStore({ allowInProduction: true });
    expect(resolveOptions({ store: allowed }).store).toBe(allowed);
    process.env.NODE_ENV = 'development';
    expect(resolveOptions({}).store).toBeInstanceOf(MemoryIdempotencyStore);
  });

  it('gives every store call a deadline of 2 s unless told otherwise', () => {
    expect(resolveOptions({}).storeTimeoutMs).toBe(2000);
    expect(resolveOptions({ storeTimeoutMs: 500 }).storeTimeoutMs).toBe(500);
  });

  it('refuses durations that are not positive, naming the option', () => {
    expect(() => resolveOptions({ storeTimeoutMs: 0 })).toThrow(/storeTimeoutMs must be a positive number/);
    expect(() => resolveOptions({ lockTtlMs: -1 })).toThrow(/lockTtlMs/);
  });

  it('never stores Set-Cookie or credentials, whatever replayedHeaders lists', () => {
    expect(resolveOptions({ replayedHeaders: ['Location', 'Set-Cookie', 'Authorization'] }).replayedHeaders).toEqual(['location']);
  });
});
