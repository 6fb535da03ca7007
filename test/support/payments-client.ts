import { expect } from '@jest/globals';
import { toIdempotencyContext } from '@idempotent-payments/nestjs-idempotency';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { PaymentBehavior } from '../../src/gateway/payment-behavior.js';

export const CHARGE_PATH = '/api/payments/charge';

export const validCharge = (overrides: Record<string, unknown> = {}) => ({
  amount: 1999,
  currency: 'EUR',
  customerId: 'cus_123',
  description: 'Order #1',
  ...overrides,
});

export const newKey = (prefix = 'test') => `${prefix}-${randomUUID()}`;

/** The idempotency record of an anonymous charge with this key, as the service's stores name it. */
export const chargeRecordId = (key: string) => toIdempotencyContext({ principal: 'anonymous', method: 'POST', route: CHARGE_PATH, key }, '').recordId;

export function charge(baseUrl: string, key: string | undefined, body: unknown = validCharge(), headers: Record<string, string> = {}) {
  const call = request(baseUrl).post(CHARGE_PATH).set(headers);
  if (key !== undefined) call.set('Idempotency-Key', key);
  return call.send(body as object);
}

/** How many charges the gateway really made for a client key: the ground truth. */
export async function ledgerCount(baseUrl: string, key: string): Promise<number> {
  const response = await request(baseUrl).get('/api/admin/provider/charges').query({ idempotencyKey: key }).expect(200);
  return (response.body as { charges: unknown[] }).charges.length;
}

export async function setBehavior(baseUrl: string, behavior: Partial<PaymentBehavior>): Promise<void> {
  await request(baseUrl).put('/api/admin/payment-behavior').send(behavior).expect(200);
}

/** A retry with `key` replays `first` to the byte (Idempotency-Cached: true), and the gateway charged the key once. */
export async function expectReplayOf(baseUrl: string, key: string, first: { status: number; text: string }): Promise<void> {
  const replay = await charge(baseUrl, key);
  expect([replay.status, replay.headers['idempotency-cached']]).toEqual([first.status, 'true']);
  expect(replay.text).toBe(first.text);
  expect(await ledgerCount(baseUrl, key)).toBe(1);
}
