import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import request from 'supertest';
import { waitUntilAllConsumed } from '../support/events-client.js';
import { sample } from '../support/metrics.js';
import { charge, newKey, setBehavior, validCharge } from '../support/payments-client.js';
import { useTestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';

const ROUTE = '/api/payments/charge';

describe('/metrics (prom-client)', () => {
  const service = useTestApp();

  const scrape = async () => {
    const response = await request(service.baseUrl).get('/metrics').expect(200);
    expect(response.headers['content-type']).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    return response.text;
  };

  it('counts idempotency outcomes, gateway calls and request durations by the right amounts', async () => {
    const before = await scrape();
    const outcome = (text: string, value: string) => sample(text, 'payments_idempotency_requests_total', { route: ROUTE, outcome: value });

    const key = newKey('metrics');
    await charge(service.baseUrl, key).expect(201);
    await charge(service.baseUrl, key).expect(201);
    await charge(service.baseUrl, key).expect(201);
    await charge(service.baseUrl, key, validCharge({ amount: 7 })).expect(422);

    await setBehavior(service.baseUrl, { minDelayMs: 300, maxDelayMs: 300 });
    const raced = await Promise.all(Array.from({ length: 4 }, () => charge(service.baseUrl, newKey('race')).then((response) => response)));
    const contended = newKey('contended');
    const duplicates = await Promise.all(Array.from({ length: 5 }, () => charge(service.baseUrl, contended)));
    await setBehavior(service.baseUrl, { minDelayMs: 0, maxDelayMs: 0, declineRate: 1 });
    await charge(service.baseUrl, newKey('declined')).expect(402);
    await setBehavior(service.baseUrl, { declineRate: 0, failureRate: 1 });
    await charge(service.baseUrl, newKey('unavailable')).expect(502);
    await setBehavior(service.baseUrl, { failureRate: 0 });

    const after = await scrape();
    expect(raced.every((response) => response.status === 201)).toBe(true);
    expect(duplicates.filter((response) => response.status === 409)).toHaveLength(4);
    // fresh: 1 + 4 raced + 1 contended + 1 declined + 1 unavailable
    expect(outcome(after, 'fresh') - outcome(before, 'fresh')).toBe(8);
    expect(outcome(after, 'replay') - outcome(before, 'replay')).toBe(2);
    expect(outcome(after, 'mismatch') - outcome(before, 'mismatch')).toBe(1);
    expect(outcome(after, 'conflict') - outcome(before, 'conflict')).toBe(4);
    const gateway = (text: string, result: string) => sample(text, 'payments_gateway_calls_total', { result });
    expect(gateway(after, 'succeeded') - gateway(before, 'succeeded')).toBe(6);
    expect(gateway(after, 'declined') - gateway(before, 'declined')).toBe(1);
    expect(gateway(after, 'unavailable') - gateway(before, 'unavailable')).toBe(1);
    expect(sample(after, 'payments_gateway_call_duration_seconds_count', { result: 'succeeded' })).toBeGreaterThanOrEqual(6);
    const created = (text: string) => sample(text, 'http_request_duration_seconds_count', { method: 'POST', route: ROUTE, status_code: '201' });
    expect(created(after) - created(before)).toBe(3 + 4 + 1);
    expect(sample(after, 'http_request_duration_seconds_count', { route: ROUTE, status_code: '409' })).toBeGreaterThanOrEqual(4);
    expect(sample(after, 'payments_idempotency_lock_hold_seconds_count', { route: ROUTE })).toBeGreaterThanOrEqual(8);
    expect(sample(after, 'payments_idempotency_lock_wait_seconds_count', { route: ROUTE })).toBeGreaterThanOrEqual(15);
    // Ratios are the query's job (rate() over these counters), not a lifetime gauge's.
    expect(after).not.toContain('idempotency_replay_ratio');
    // The service's own metrics share one prefix; the rest are the generic HTTP and process ones.
    const families = [...after.matchAll(/^# TYPE (\w+) /gm)].map(([, name]) => name);
    expect(families.filter((name) => !/^(payments|http|process|nodejs)_/.test(name))).toEqual([]);
    expect(families.filter((name) => name.startsWith('payments_'))).toHaveLength(11);
    expect(after).toContain('process_resident_memory_bytes');
  });

  it('counts the payment events the projections consumed, none dead-lettered, and an outbox lag of 0 once every event left', async () => {
    const consumed = (text: string) => sample(text, 'payments_events_consumed_total', { consumer: 'projections' });
    const succeeded = async () =>
      (await service.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM payment_events WHERE type = 'payment.succeeded'`)).rows[0]!.n;
    // Counted once its transaction committed, right after the marker waitUntilAllConsumed reads: the earlier test's events first.
    const settled = async () => {
      await waitUntilAllConsumed(service.database);
      const events = await succeeded();
      await waitFor(`the consumer counts all ${events} successes`, async () => consumed(await scrape()) === events);
    };
    await settled();
    const before = await scrape();
    for (let i = 0; i < 3; i++) await charge(service.baseUrl, newKey('consumed')).expect(201);
    await setBehavior(service.baseUrl, { declineRate: 1 });
    await charge(service.baseUrl, newKey('declined-event')).expect(402);
    await setBehavior(service.baseUrl, { declineRate: 0 });
    await settled();
    const after = await scrape();
    // The projections bind payment.succeeded only: the decline's payment.failed is not theirs.
    expect(consumed(after) - consumed(before)).toBe(3);
    expect(sample(after, 'payments_events_duplicates_dropped_total', { source: 'broker' })).toBe(0);
    expect(sample(after, 'payments_events_dead_lettered_total', { consumer: 'projections' })).toBe(0);
    await waitFor('the relay to observe an empty outbox', async () => /^payments_outbox_lag_seconds 0$/m.test(await scrape()));
  });
});
