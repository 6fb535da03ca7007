import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseApiKeys } from '../../src/config/api-keys.js';
import { loadAppConfig } from '../../src/config/index.js';

const KEY_A = 'sk_test_aaaaaaaaaaaaaaaa';
const KEY_B = 'sk_test_bbbbbbbbbbbbbbbb';

describe('parseApiKeys', () => {
  it('reads a comma-separated list of merchant:key pairs', () => {
    expect(parseApiKeys(`merchantA:${KEY_A}, merchantB:${KEY_B}`)).toEqual([
      { merchant: 'merchantA', key: KEY_A },
      { merchant: 'merchantB', key: KEY_B },
    ]);
  });

  it('reads a file of merchant:key lines, skipping comments and blank lines', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'api-keys');
    writeFileSync(file, `# merchants\nmerchantA:${KEY_A}\n\nmerchantB:${KEY_B}\n`);
    expect(parseApiKeys(file).map((entry) => entry.merchant)).toEqual(['merchantA', 'merchantB']);
  });

  it.each([
    ['a key shorter than 16 characters', 'merchantA:short'],
    ['a missing merchant id', `:${KEY_A}`],
    ['a merchant id with a space', `merchant A:${KEY_A}`],
    ['one key for two merchants', `merchantA:${KEY_A},merchantB:${KEY_A}`],
    ['a path that does not exist', '/nonexistent/api-keys'],
  ])('refuses %s, without echoing any key', (_case, setting) => {
    let message = '';
    try {
      parseApiKeys(setting);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toContain(KEY_A);
    expect(message).not.toContain('short');
  });
});

describe('configuration of authentication', () => {
  it('refuses to start in production without API_KEYS', () => {
    expect(() => loadAppConfig({ NODE_ENV: 'production' })).toThrow('API_KEYS must be set in production');
  });

  it('starts in development without API_KEYS (every caller is anonymous)', () => {
    expect(loadAppConfig({ NODE_ENV: 'development' }).API_KEYS).toBeUndefined();
  });

  it('names API_KEYS when its value is malformed', () => {
    expect(() => loadAppConfig({ NODE_ENV: 'development', API_KEYS: 'merchantA:short' })).toThrow('API_KEYS');
  });
});
