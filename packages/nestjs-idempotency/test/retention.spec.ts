import { describe, expect, it } from '@jest/globals';
import { retentionFor, ttlFor } from '../src/retention.js';

describe('retention policy', () => {
  it.each([
    [200, 'result'],
    [201, 'result'],
    [402, 'result'],
    [404, 'result'],
    [500, 'error'],
    [502, 'error'],
    [504, 'error'],
    [400, 'none'],
    [401, 'none'],
    [403, 'none'],
    [409, 'none'],
    [413, 'none'],
    [422, 'none'],
    [429, 'none'],
    [503, 'none'],
  ])('status %i is kept as %s', (status, retention) => {
    expect(retentionFor(status)).toBe(retention);
  });

  it('maps each retention to its TTL', () => {
    const ttls = { resultTtlMs: 86_400_000, errorTtlMs: 30_000 };
    expect(ttlFor(201, undefined, ttls)).toBe(86_400_000);
    expect(ttlFor(402, undefined, ttls)).toBe(86_400_000);
    expect(ttlFor(502, undefined, ttls)).toBe(30_000);
    expect(ttlFor(400, undefined, ttls)).toBeUndefined();
  });

  it('lets storeIf decide instead of the built-in rule, keeping the TTL by status', () => {
    const failure = new Error('timeout');
    const storeIf = (status: number, error: unknown) => status !== 504 && error !== failure;
    const policy = { resultTtlMs: 1000, errorTtlMs: 10, storeIf };
    expect(ttlFor(400, undefined, policy)).toBe(1000);
    expect(ttlFor(500, undefined, policy)).toBe(10);
    expect(ttlFor(504, undefined, policy)).toBeUndefined();
    expect(ttlFor(500, failure, policy)).toBeUndefined();
  });
});
