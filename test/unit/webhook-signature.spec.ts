import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { loadAppConfig } from '../../src/config/index.js';
import { signatureHeader, verifySignature, webhookSecretOf } from '../../src/gateway/webhook-signature.js';

const SECRET = 'whsec_unit_0123456789abcdef';
const BODY = Buffer.from('{"id":"evt_1","type":"charge.succeeded"}');
const NOW = 1_800_000_000;

describe('webhook signatures', () => {
  it('signs "<t>.<raw body>" with HMAC-SHA256 as t=<t>,v1=<hex>', () => {
    const expected = createHmac('sha256', SECRET).update(`${NOW}.${BODY.toString()}`).digest('hex');
    expect(signatureHeader(SECRET, BODY, NOW)).toBe(`t=${NOW},v1=${expected}`);
  });

  it('accepts its own signature, within 300 s either way, and one matching v1 among several (secret rotation)', () => {
    const header = signatureHeader(SECRET, BODY, NOW);
    expect(verifySignature(header, BODY, SECRET, NOW)).toBe('valid');
    expect(verifySignature(header, BODY, SECRET, NOW + 300)).toBe('valid');
    expect(verifySignature(header, BODY, SECRET, NOW - 300)).toBe('valid');
    const old = signatureHeader('whsec_previous_secret_000', BODY, NOW).split(',')[1];
    expect(verifySignature(`${header},${old}`, BODY, SECRET, NOW)).toBe('valid');
  });

  it.each([
    ['no header', undefined, 'missing'],
    ['an empty header', ' ', 'missing'],
    ['no timestamp', `v1=${'a'.repeat(64)}`, 'malformed'],
    ['no v1', `t=${NOW}`, 'malformed'],
    ['a short v1', `t=${NOW},v1=abc`, 'malformed'],
    ['another scheme', `t=${NOW},v0=${'a'.repeat(64)}`, 'malformed'],
    ['a timestamp 301 s old', signatureHeader(SECRET, BODY, NOW - 301), 'stale'],
    ['a timestamp 301 s ahead', signatureHeader(SECRET, BODY, NOW + 301), 'stale'],
    ['another secret', signatureHeader('whsec_someone_else_000', BODY, NOW), 'mismatch'],
    ['another body', signatureHeader(SECRET, Buffer.from('{}'), NOW), 'mismatch'],
    ['a changed timestamp', signatureHeader(SECRET, BODY, NOW).replace(`t=${NOW}`, `t=${NOW + 1}`), 'mismatch'],
  ])('refuses %s', (_case, header, check) => {
    expect(verifySignature(header, BODY, SECRET, NOW)).toBe(check);
  });

  it('uses WEBHOOK_SECRET, a development key outside production, and none (webhooks off) in production without it', () => {
    expect(webhookSecretOf(loadAppConfig({ NODE_ENV: 'development', WEBHOOK_SECRET: SECRET }))).toBe(SECRET);
    expect(webhookSecretOf(loadAppConfig({ NODE_ENV: 'development' }))).toEqual(expect.any(String));
    expect(webhookSecretOf(loadAppConfig({ NODE_ENV: 'production', API_KEYS: 'm:sk_test_0123456789abcdef' }))).toBeUndefined();
    expect(webhookSecretOf(loadAppConfig({ NODE_ENV: 'production', API_KEYS: 'm:sk_test_0123456789abcdef', WEBHOOK_SECRET: SECRET }))).toBe(SECRET);
  });
});
