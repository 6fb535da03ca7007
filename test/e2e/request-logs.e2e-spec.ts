import { expect, it } from '@jest/globals';
import request from 'supertest';
import { describeWithRedisBinary } from '../support/redis.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { useServiceProcess } from '../support/service-process.js';
import { waitFor } from '../support/wait-for.js';

interface RequestLine {
  msg: string;
  req: { id: string; method: string };
  res: { status: number };
  route: string;
  responseTime: number;
  idempotency?: string;
}

/** The built service logs one JSON line per request; the test reads them from its output. */
describeWithRedisBinary('request logs (nestjs-pino)', () => {
  const running = useServiceProcess({ LOG_LEVEL: 'log' });

  const lineFor = (requestId: string): RequestLine | undefined =>
    running.service.logs
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as RequestLine)
      .find((line) => line.msg === 'request completed' && line.req?.id === requestId);
  /** The lines are written as the responses go out, and read from the process's output as it arrives. */
  const linesLogged = (requestIds: string[]) =>
    waitFor('the request lines are logged', () => Promise.resolve(requestIds.every((requestId) => lineFor(requestId) !== undefined)));

  it('writes one JSON line per request with method, route, status, duration, request id and idempotency outcome', async () => {
    const { service } = running;
    const key = newKey('logged');
    const first = await charge(service.baseUrl, key, validCharge(), { 'X-Request-Id': 'checkout-42.first' });
    const replay = await charge(service.baseUrl, key, validCharge(), { 'X-Request-Id': 'checkout-42.retry' });
    const mismatch = await charge(service.baseUrl, key, validCharge({ amount: 1 }), { 'X-Request-Id': 'checkout-42.other' });
    expect(first.headers['x-request-id']).toBe('checkout-42.first');
    expect(replay.headers['x-request-id']).toBe('checkout-42.retry');
    await linesLogged(['checkout-42.first', 'checkout-42.retry', mismatch.headers['x-request-id']!]);

    expect(lineFor('checkout-42.first')).toMatchObject({
      req: { method: 'POST' },
      res: { status: 201 },
      route: '/api/payments/charge',
      responseTime: expect.any(Number),
      idempotency: 'fresh',
    });
    expect(lineFor('checkout-42.retry')).toMatchObject({ res: { status: 201 }, idempotency: 'replay' });
    expect(lineFor(mismatch.headers['x-request-id']!)).toMatchObject({ res: { status: 422 }, idempotency: 'mismatch' });
  });

  it('generates a request id when none (or an unusable one) is sent, and echoes it', async () => {
    const { service } = running;
    const generated = await request(service.baseUrl).get('/api/orders');
    const replaced = await request(service.baseUrl).get('/api/orders').set('X-Request-Id', 'has spaces and "quotes"');
    for (const response of [generated, replaced]) {
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    // The replaced request's line is written: it must not carry the unusable id.
    await linesLogged([generated.headers['x-request-id']!, replaced.headers['x-request-id']!]);
    expect(lineFor(generated.headers['x-request-id']!)).toMatchObject({ route: '/api/orders', res: { status: 200 } });
    expect(service.logs).not.toContain('has spaces');
  });
});
