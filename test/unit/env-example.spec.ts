import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { AppConfig } from '../../src/config/index.js';

/** `NAME=value` lines of .env.example, in order. */
const listed = [...readFileSync(new URL('../../.env.example', import.meta.url), 'utf8').matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map(([, name, value]) => ({
  name,
  value,
}));

/** A default as .env.example writes it: empty for unset, lists comma-separated. */
const asText = (value: string | number | boolean | string[] | undefined) => (value === undefined ? '' : Array.isArray(value) ? value.join(',') : String(value));

describe('.env.example', () => {
  const defaults = new AppConfig() as unknown as Record<string, string | number | boolean | string[] | undefined>;

  it('lists every variable of AppConfig once, and nothing else', () => {
    expect([...listed.map(({ name }) => name)].sort()).toEqual(Object.keys(defaults).sort());
  });

  it('shows each default (NODE_ENV empty: unset means production)', () => {
    for (const { name, value } of listed) {
      expect({ name, value }).toEqual({ name, value: name === 'NODE_ENV' ? '' : asText(defaults[name]) });
    }
  });
});
