import { describe, expect, it } from '@jest/globals';
import { delayBeforeRetry, isRetryable, parseRetryAfter } from '@idempotent-payments/client';

describe("the payments client's retry policy", () => {
  it('retries what a retry can change, never what it cannot', () => {
    expect([409, 429, 500, 502, 503, 504].filter(isRetryable)).toEqual([409, 429, 500, 502, 503, 504]);
    expect([400, 401, 402, 403, 404, 413, 415, 422, 501].filter(isRetryable)).toEqual([]);
  });

  it('waits a random time up to a cap that doubles per failed attempt, up to the maximum (full jitter)', () => {
    const backoff = { baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5].map((failed) => delayBeforeRetry(failed, undefined, backoff, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(delayBeforeRetry(3, undefined, backoff, () => 0)).toBe(0);
    expect(delayBeforeRetry(3, undefined, backoff, () => 0.5)).toBe(200);
  });

  it("adds the jitter on top of the server's Retry-After, which is the earliest the answer can change", () => {
    expect(delayBeforeRetry(1, 1000, { baseMs: 100, maxMs: 1000 }, () => 0)).toBe(1000);
    expect(delayBeforeRetry(1, 1000, { baseMs: 100, maxMs: 1000 }, () => 1)).toBe(1100);
  });

  it('reads Retry-After in seconds or as an HTTP date, and ignores what it cannot read', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter('Fri, 04 Dec 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Fri, 04 Dec 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
