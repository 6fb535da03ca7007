import { hash } from 'node:crypto';
import { IdempotencyRequestError } from './idempotency.exceptions.js';

const MAX_DEPTH = 64;

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units, as RFC 8785) at every depth, array
 * order kept, no whitespace. Written as a string rather than by rebuilding objects, so a
 * "__proto__" key in a body is hashed like any other and never touches a prototype.
 */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) {
    throw new IdempotencyRequestError('BODY_TOO_DEEP', `The request body is nested deeper than ${MAX_DEPTH} levels.`);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => canonicalJson(item ?? null, depth + 1)).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const members = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key], depth + 1)}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** SHA-256 of the canonical body: the same request always has the same fingerprint. */
export function fingerprintOf(body: unknown): string {
  return hash('sha256', canonicalJson(body ?? null), 'base64url');
}
