import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import request from 'supertest';
import { CHARGE_PATH } from '../support/payments-client.js';
import { useTestApp } from '../support/test-app.js';
import { expectProblem } from '../support/problem.js';

const visibleAscii = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 300 });
const headerSafe = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 300 });

const idempotencyKey = fc.oneof(
  fc.uuid(),
  visibleAscii,
  headerSafe,
  visibleAscii.map((key) => `"${key.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`),
  fc.constant(undefined),
);

const hostileNumber = fc.oneof(
  fc.integer(),
  fc.integer({ min: 1, max: 99_999_999 }),
  fc.double(),
  fc.constantFrom(0, -0, 0.1, 1e21, Number.MAX_SAFE_INTEGER + 2, -1),
);
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('', 'EUR', 'eur', 'USD', 'XYZ', '1999', '١٢٣', 'E\u0301UR', 'DROP TABLE', '<script>'),
  fc.nat({ max: 20_000 }).map((length) => 'x'.repeat(length)),
);
const anyField = fc.oneof(hostileNumber, hostileString, fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }));

/** Bodies close to a charge, with each field valid, hostile or missing, and sometimes extra fields. */
const chargeLike = fc.record(
  {
    amount: fc.oneof(fc.integer({ min: 1, max: 99_999_999 }), hostileNumber, anyField),
    currency: fc.oneof(fc.constantFrom('EUR', 'USD', 'JPY'), hostileString, anyField),
    customerId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), hostileString, anyField),
    description: fc.oneof(fc.string({ maxLength: 255 }), hostileString, anyField),
    metadata: fc.oneof(fc.dictionary(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ maxLength: 50 }), { maxKeys: 25 }), anyField),
    extra: anyField,
  },
  { requiredKeys: [] },
);

const deeplyNested = fc.integer({ min: 1, max: 5000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);
/** JSON texts that JSON.stringify cannot produce: huge exponents, odd literals, broken syntax. */
const rawJson = fc.oneof(
  deeplyNested,
  fc.constantFrom(
    '{"amount":1e309,"currency":"EUR","customerId":"c1"}',
    '{"amount":-0,"currency":"EUR","customerId":"c1"}',
    '{"amount":1999.0,"currency":"EUR","customerId":"c1"}',
    '{"amount":"1999","currency":"EUR","customerId":"c1"}',
    '{"amount":1999,"currency":"EUR","customerId":"c1","amount":2}',
    '{"__proto__":{"admin":true},"amount":1999,"currency":"EUR","customerId":"c1"}',
    '{"constructor":{"prototype":{"admin":true}},"amount":1999,"currency":"EUR","customerId":"c1"}',
    '{"amount":1999,',
    'null',
    '[]',
    '"string"',
    '',
    '\u0000',
  ),
  fc.string(),
);

const body = fc.oneof(
  { weight: 5, arbitrary: chargeLike.map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: rawJson },
);
const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', undefined);

describe('fuzzing the charge route and the router (fast-check)', () => {
  const service = useTestApp();

  const ledgerSize = async () => (await request(service.baseUrl).get('/api/admin/provider/charges').expect(200)).body.charges.length as number;

  it('never answers 500, answers every error as a problem, charges only valid requests and each at most once', async () => {
    await fc.assert(
      fc.asyncProperty(body, idempotencyKey, contentType, async (text, key, type) => {
        const before = await ledgerSize();
        const call = request(service.baseUrl).post(CHARGE_PATH);
        if (key !== undefined) call.set('Idempotency-Key', key);
        if (type !== undefined) call.set('Content-Type', type);
        const response = await call.send(text);
        if (response.status === 201) {
          const charged = (await ledgerSize()) - before;
          // A fresh success made exactly one charge, a replay none; resending replays without charging.
          expect(charged).toBe(response.headers['idempotency-cached'] === 'true' ? 0 : 1);
          const again = await request(service.baseUrl).post(CHARGE_PATH).set('Idempotency-Key', key!).set('Content-Type', type!).send(text);
          expect(again.headers['idempotency-cached']).toBe('true');
          expect(again.text).toBe(response.text);
          expect(await ledgerSize()).toBe(before + charged);
        } else {
          expect(response.status).not.toBe(500);
          expectProblem(response);
          expect(await ledgerSize()).toBe(before);
        }
      }),
      { numRuns: 800 },
    );
  }, 180_000);

  it('answers random methods and paths without a 500 or a stack trace', async () => {
    const segment = fc.oneof(
      fc.constantFrom('api', 'payments', 'charge', 'orders', 'admin', 'health', '..', '%', '%zz', '%00', 'ord_x'),
      fc.string().map(encodeURIComponent),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
        fc.array(segment, { maxLength: 5 }),
        async (method, segments) => {
          const response = await request(service.baseUrl)[method.toLowerCase() as 'get'](`/${segments.join('/')}`);
          expect(response.status).toBeLessThan(500);
          if (response.status >= 400 && method !== 'HEAD') expectProblem(response);
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000);
});
