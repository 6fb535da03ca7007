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
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let index = 0; index < value.length; index++) text += (index === 0 ? '' : ',') + canonicalJson(value[index] ?? null, depth + 1);
    return text + ']';
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  // Bodies usually arrive sorted or nearly so; sorting is only needed when they are not.
  for (let index = 1; index < keys.length; index++) {
    if (keys[index - 1]! > keys[index]!) {
      keys.sort();
      break;
    }
  }
  let text = '{';
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    text += (text.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(member, depth + 1);
  }
  return text + '}';
}

/** SHA-256 of the canonical body: the same request always has the same fingerprint. */
export function fingerprintOf(body: unknown): string {
  return hash('sha256', canonicalJson(body ?? null), 'base64url');
}
