import { existsSync, readFileSync } from 'node:fs';

export interface ApiKeyEntry {
  merchant: string;
  key: string;
}

const MERCHANT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const API_KEY = /^[\x21-\x7e]{16,256}$/;

/**
 * Reads API_KEYS: `merchantA:sk_test_…,merchantB:sk_test_…`, or the path of a file with one
 * `merchant:key` per line (# comments allowed), so keys need not sit in the environment.
 * Throws with a message that never contains a key.
 */
export function parseApiKeys(setting: string): ApiKeyEntry[] {
  const fromFile = !setting.includes(':') || existsSync(setting);
  const source = fromFile ? readKeyFile(setting) : setting.split(',');
  const entries = source
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line, index) => {
      const separator = line.indexOf(':');
      const merchant = line.slice(0, separator);
      const key = line.slice(separator + 1);
      if (separator < 1 || !MERCHANT_ID.test(merchant)) throw new Error(`entry ${index + 1} needs a merchant id of 1-64 characters [A-Za-z0-9_-] before ':'`);
      if (!API_KEY.test(key)) throw new Error(`the key of merchant ${merchant} must be 16-256 visible ASCII characters`);
      return { merchant, key };
    });
  if (entries.length === 0) throw new Error('no keys found');
  if (new Set(entries.map((entry) => entry.key)).size !== entries.length) throw new Error('the same key is given to two merchants');
  return entries;
}

function readKeyFile(path: string): string[] {
  if (!existsSync(path)) throw new Error('is neither a list of merchant:key pairs nor a readable file');
  return readFileSync(path, 'utf8').split('\n');
}
