import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '../config/index.js';

export const WEBHOOK_PATH = '/api/webhooks/gateway';
export const SIGNATURE_HEADER = 'Gateway-Signature';
/** A signature older (or newer) than this is refused, so a captured delivery cannot be replayed later. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** Outside production an unset WEBHOOK_SECRET falls back to this, so the mock gateway works out of the box. */
const DEVELOPMENT_WEBHOOK_SECRET = 'whsec_development_only_not_secret';

/** The key webhooks are signed with, or undefined when webhooks are off (production without WEBHOOK_SECRET). */
export function webhookSecretOf(config: AppConfig): string | undefined {
  return config.WEBHOOK_SECRET ?? (config.NODE_ENV === 'production' ? undefined : DEVELOPMENT_WEBHOOK_SECRET);
}

export const nowInSeconds = () => Math.floor(Date.now() / 1000);

function hmacOf(secret: string, timestamp: number, body: string | Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`: the timestamp is signed with the body. */
export function signatureHeader(secret: string, body: string | Buffer, timestamp = nowInSeconds()): string {
  return `t=${timestamp},v1=${hmacOf(secret, timestamp, body).toString('hex')}`;
}

export type SignatureCheck = 'valid' | 'missing' | 'malformed' | 'stale' | 'mismatch';

/**
 * Checks a Gateway-Signature header against the raw body. Several `v1` entries are allowed (a
 * gateway rotating its secret signs with both); one match is enough. Compared in constant time.
 */
export function verifySignature(header: string | undefined, rawBody: Buffer, secret: string, now = nowInSeconds()): SignatureCheck {
  if (header === undefined || header.trim() === '') return 'missing';
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    const [name, value] = [part.slice(0, separator).trim(), part.slice(separator + 1).trim()];
    if (name === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined || signatures.length === 0) return 'malformed';
  if (Math.abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS) return 'stale';
  const expected = hmacOf(secret, timestamp, rawBody);
  return signatures.some((signature) => timingSafeEqual(signature, expected)) ? 'valid' : 'mismatch';
}
