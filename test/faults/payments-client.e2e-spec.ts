import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { IdempotencyKeyReusedError, PaymentNotSettledError, PaymentRejectedError, PaymentsClient, type ChargeResult } from '@idempotent-payments/client';
import { RedisServer, ServiceProcess } from '../harness/index.js';
import { fileBrokerUrl } from '../support/broker.js';
import { ledger } from '../support/charge-load.js';
import { fileDatabaseUrl } from '../support/database.js';
import { LossyProxy } from '../support/lossy-proxy.js';
import { setBehavior, validCharge } from '../support/payments-client.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

const PAYMENTS = 100;
const CONCURRENCY = 10;
/** Share of the service's answers the proxy cuts off after the service processed the request. */
const DROP_SHARE = 0.3;

describeWithRedisBinary('PaymentsClient against the built service', () => {
  let redis: RedisServer;
  let service: ServiceProcess;
  let proxy: LossyProxy;
  /** The status of every answer that reached a client through the proxy. */
  const statuses: number[] = [];
  /** The client of a checkout page behind a lossy network: it sees some answers, never the others. */
  let client: PaymentsClient;

  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await ServiceProcess.start({
      REDIS_URL: redis.url,
      DATABASE_URL: await fileDatabaseUrl(),
      BROKER_URL: await fileBrokerUrl(),
      RATE_LIMIT_MAX: '0',
      WEBHOOK_DELIVERY: 'false',
      GATEWAY_MIN_DELAY_MS: '5',
      GATEWAY_MAX_DELAY_MS: '30',
      // A paused Redis answers nothing: its commands time out quickly, and a charge gets a 503.
      REDIS_COMMAND_TIMEOUT_MS: '300',
      // A lock whose owner could not store its outcome (Redis paused at that moment) frees the key soon.
      IDEMPOTENCY_LOCK_TTL_MS: '2000',
    });
    proxy = await LossyProxy.start(service.baseUrl, DROP_SHARE);
    client = new PaymentsClient({
      baseUrl: proxy.url,
      // Lost answers, 503s while Redis is paused and 409s until a lock left by then expires: more
      // attempts than the default, each short, within the default deadline.
      maxAttempts: 20,
      backoff: { baseMs: 50, maxMs: 500 },
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        statuses.push(response.status);
        return response;
      },
    });
  });

  afterAll(async () => {
    await proxy?.close();
    await service?.stop();
    await redis?.stop();
  });

  it(`${PAYMENTS} payments each resolve with their charge and are charged once, though ${DROP_SHARE * 100} % of answers are lost and Redis is paused for a moment`, async () => {
    const results: ChargeResult[] = [];
    let next = 0;
    const pay = async () => {
      while (next < PAYMENTS) {
        const amount = 1000 + next++;
        results.push(await client.charge(validCharge({ amount, customerId: 'cus_client' })));
      }
    };
    const paying = Promise.all(Array.from({ length: CONCURRENCY }, pay));
    await waitFor('a third of the payments are settled', async () => results.length >= PAYMENTS / 3, 30_000);
    redis.pause();
    await waitFor('a charge is refused with 503 while Redis is paused', async () => statuses.includes(503), 20_000).finally(() => redis.resume());
    await paying;

    expect(results).toHaveLength(PAYMENTS);
    const charged = (await ledger(service.baseUrl)).filter((charge) => charge.amount >= 1000 && charge.amount < 1000 + PAYMENTS);
    // One ledger charge per key, one key per payment, and each payment resolved with its key's charge.
    const keys = new Set(charged.map((charge) => charge.idempotencyKey));
    expect(keys.size).toBe(PAYMENTS);
    expect(charged).toHaveLength(PAYMENTS);
    expect(results.map((result) => result.charge.id).sort()).toEqual(charged.map((charge) => charge.id).sort());
    for (const result of results) expect(charged.find((charge) => charge.id === result.charge.id)?.amount).toBe(result.charge.amount);

    expect(proxy.dropped).toBeGreaterThan(0);
    expect(results.some((result) => result.attempts > 1)).toBe(true);
    // A retry after a lost answer gets the stored outcome.
    expect(results.some((result) => result.replayed)).toBe(true);
    expect(statuses.filter((status) => status >= 500 && status !== 503)).toEqual([]);
  });

  it('refuses a key reused with another body before sending it; the service refuses it from another client; nothing is charged again', async () => {
    const key = randomUUID();
    const direct = new PaymentsClient({ baseUrl: service.baseUrl });
    const first = await direct.charge(validCharge({ amount: 2500 }), { idempotencyKey: key });

    const refused = await direct.charge(validCharge({ amount: 2600 }), { idempotencyKey: key }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(refused).toMatchObject({ idempotencyKey: key, attempts: 0 });

    // A client that never sent the key (another process) learns it from the service, and does not retry a 422.
    const rejected = await new PaymentsClient({ baseUrl: service.baseUrl })
      .charge(validCharge({ amount: 2600 }), { idempotencyKey: key })
      .catch((error: unknown) => error);
    expect(rejected).toBeInstanceOf(PaymentRejectedError);
    expect(rejected).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED', idempotencyKey: key, attempts: 1 });

    expect((await ledger(service.baseUrl, { idempotencyKey: key })).map((charge) => charge.id)).toEqual([first.charge.id]);
  });

  it('rejects a decline at once with 402 and its code, without a retry', async () => {
    await setBehavior(service.baseUrl, { declineRate: 1 });
    try {
      const declined = await new PaymentsClient({ baseUrl: service.baseUrl }).charge(validCharge()).catch((error: unknown) => error);
      expect(declined).toBeInstanceOf(PaymentRejectedError);
      expect(declined).toMatchObject({ status: 402, code: 'CARD_DECLINED', attempts: 1 });
      expect(await ledger(service.baseUrl, { idempotencyKey: (declined as PaymentRejectedError).idempotencyKey })).toEqual([]);
    } finally {
      await setBehavior(service.baseUrl, { declineRate: 0 });
    }
  });

  it('waits out a 409 while the first request with the key runs, then gets its outcome', async () => {
    await setBehavior(service.baseUrl, { minDelayMs: 1500, maxDelayMs: 1500 });
    try {
      const key = randomUUID();
      const body = validCharge({ amount: 3100 });
      const first = new PaymentsClient({ baseUrl: service.baseUrl }).charge(body, { idempotencyKey: key });
      const lookup = new PaymentsClient({ baseUrl: service.baseUrl }).api;
      await waitFor(
        'the first request created its order',
        async () => (await lookup.GET('/api/orders', { params: { query: { idempotencyKey: key } } })).data?.data.length === 1,
      );
      // A second tab of the same checkout, with the same key.
      const second = await new PaymentsClient({ baseUrl: service.baseUrl }).charge(body, { idempotencyKey: key });
      expect(second).toMatchObject({ replayed: true, charge: { id: (await first).charge.id } });
      expect(second.attempts).toBeGreaterThan(1);
    } finally {
      await setBehavior(service.baseUrl, { minDelayMs: 5, maxDelayMs: 30 });
    }
  });

  describe('against a service that never answers', () => {
    let silent: Server;
    let silentUrl: string;

    beforeAll(async () => {
      silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    });

    afterAll(async () => {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    });

    it('ends the call at its deadline, with the key to retry later', async () => {
      const started = Date.now();
      const error = await new PaymentsClient({ baseUrl: silentUrl, attemptTimeoutMs: 300 })
        .charge(validCharge(), { deadlineMs: 1500 })
        .catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(PaymentNotSettledError);
      expect(error).toMatchObject({ reason: 'deadline', lastStatus: undefined, idempotencyKey: expect.any(String) });
      expect((error as PaymentNotSettledError).attempts).toBeGreaterThan(1);
      // Generous against a loaded machine; without a deadline the call would go on for 8 attempts of 300 ms and their waits.
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('stops when its signal aborts', async () => {
      const error = await new PaymentsClient({ baseUrl: silentUrl, attemptTimeoutMs: 200 })
        .charge(validCharge(), { signal: AbortSignal.timeout(500) })
        .catch((failure: unknown) => failure);
      expect(error).toMatchObject({ name: 'TimeoutError' });
    });
  });
});
