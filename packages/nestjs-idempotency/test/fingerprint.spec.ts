import { describe, expect, it } from '@jest/globals';
import { canonicalJson, fingerprintOf } from '../src/fingerprint.js';
import { IdempotencyError } from '../src/idempotency.exceptions.js';

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1, 2], c: null } })).toBe('{"a":{"c":null,"d":[3,1,2]},"b":1}');
  });

  it('gives the same text for the same data written in another key order', () => {
    const first = JSON.parse('{"amount":1,"metadata":{"x":"1","y":"2"},"currency":"EUR"}');
    const second = JSON.parse('{"currency":"EUR","metadata":{"y":"2","x":"1"},"amount":1}');
    expect(canonicalJson(first)).toBe(canonicalJson(second));
  });

  it('keeps arrays in order: a reordered array is a different request', () => {
    expect(fingerprintOf({ items: [1, 2] })).not.toBe(fingerprintOf({ items: [2, 1] }));
  });

  it('sorts keys by UTF-16 code units (RFC 8785), unicode included', () => {
    expect(canonicalJson({ é: 1, z: 2, Z: 3, '😀': 4, a: 5 })).toBe('{"Z":3,"a":5,"z":2,"é":1,"😀":4}');
  });

  it('treats escaped and literal unicode in the JSON text as the same value', () => {
    expect(fingerprintOf(JSON.parse('{"name":"caf\\u00e9 \\ud83d\\ude00"}'))).toBe(fingerprintOf(JSON.parse('{"name":"café 😀"}')));
  });

  it('hashes a __proto__ key like any other key, without touching prototypes', () => {
    const hostile = JSON.parse('{"__proto__":{"polluted":true},"a":1}');
    expect(canonicalJson(hostile)).toBe('{"__proto__":{"polluted":true},"a":1}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('distinguishes values that differ only in type', () => {
    expect(fingerprintOf({ amount: 1 })).not.toBe(fingerprintOf({ amount: '1' }));
    expect(fingerprintOf({ a: null })).not.toBe(fingerprintOf({}));
  });

  it('refuses bodies nested deeper than it will walk', () => {
    let deep: unknown = 1;
    for (let level = 0; level < 100; level++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(IdempotencyError);
  });

  it('gives a SHA-256 in base64url', () => {
    expect(fingerprintOf({})).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
