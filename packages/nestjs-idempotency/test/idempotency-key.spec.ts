import { describe, expect, it } from '@jest/globals';
import { IdempotencyError } from '../src/idempotency.exceptions.js';
import { parseIdempotencyKey } from '../src/idempotency-key.js';

function codeOf(occurrences: string[]): string | undefined {
  try {
    parseIdempotencyKey(occurrences);
    return undefined;
  } catch (error) {
    return (error as IdempotencyError).code;
  }
}

describe('parseIdempotencyKey', () => {
  it('is undefined when the header is absent', () => {
    expect(parseIdempotencyKey([])).toBeUndefined();
  });

  it('accepts a bare key of visible ASCII', () => {
    expect(parseIdempotencyKey(['8e03978e-40d5-43e8-bc93-6894a57f9324'])).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
    expect(parseIdempotencyKey(['a!#$%&*+.^_`|~:/?@[]{}'])).toBe('a!#$%&*+.^_`|~:/?@[]{}');
  });

  it('reads the structured-field string form as the same key', () => {
    expect(parseIdempotencyKey(['"order-42"'])).toBe('order-42');
    expect(parseIdempotencyKey(['"a\\"b\\\\c"'])).toBe('a"b\\c');
  });

  it('accepts 255 characters and refuses 256', () => {
    expect(parseIdempotencyKey(['k'.repeat(255)])).toHaveLength(255);
    expect(codeOf(['k'.repeat(256)])).toBe('IDEMPOTENCY_KEY_INVALID');
  });

  it.each([
    ['empty', ''],
    ['empty quoted', '""'],
    ['inner space', 'a b'],
    ['non-ASCII', 'clé'],
    ['control character', 'a\tb'],
    ['unterminated quote', '"abc'],
    ['lone quote', '"'],
    ['unescaped inner quote', '"a"b"'],
    ['unknown escape', '"a\\nb"'],
    ['space inside quotes', '"a b"'],
  ])('refuses a malformed key (%s)', (_case, value) => {
    expect(codeOf([value])).toBe('IDEMPOTENCY_KEY_INVALID');
  });

  it('refuses a repeated header', () => {
    expect(codeOf(['a', 'a'])).toBe('IDEMPOTENCY_KEY_INVALID');
  });
});
