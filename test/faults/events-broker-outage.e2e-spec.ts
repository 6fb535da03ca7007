import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import request from 'supertest';
import { RabbitMqServer, RedisServer, ServiceProcess } from '../harness/index.js';
import { ownBrokerServiceEnv } from '../support/broker.js';
import { fileDatabaseUrl } from '../support/database.js';
import { balanceOf, waitUntilAllConsumed } from '../support/events-client.js';
import { metricOf } from '../support/metrics.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

const WHILE_DOWN = 10;

/**
 * The broker stops (a node of this test's own): charging goes on (201s), the payment events wait in
 * the outbox (readiness says how long, as does the lag gauge, and the instance stays ready), and
 * they leave and are consumed once the broker is back.
 */
describeWithRedisBinary('charges while the broker is down', () => {
  let broker: RabbitMqServer;
  let redis: RedisServer;
  let service: ServiceProcess;
  let database: pg.Pool;

  beforeAll(async () => {
    [broker, redis] = await Promise.all([RabbitMqServer.start(), RedisServer.start()]);
    const databaseUrl = await fileDatabaseUrl();
    database = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    service = await ServiceProcess.start(ownBrokerServiceEnv({ redisUrl: redis.url, databaseUrl, brokerUrl: broker.url }));
  });

  afterAll(async () => {
    await service?.stop();
    await database?.end();
    await Promise.all([broker?.remove(), redis?.stop()]);
  });

  const readiness = async () => {
    const response = await request(service.baseUrl).get('/health/ready');
    return { status: response.status, lagSeconds: (response.body as { details?: { outbox?: { lagSeconds?: number } } }).details?.outbox?.lagSeconds };
  };
  const lagGauge = async () => {
    const response = await request(service.baseUrl).get('/metrics').expect(200);
    const line = /^payments_outbox_lag_seconds (\S+)$/m.exec(response.text);
    return Number(line?.[1]);
  };

  it('answers 201 while the broker is down, keeps the events in the outbox with a lag above 0, and publishes them once it is back', async () => {
    const customerId = 'cus_broker_outage';
    await charge(service.baseUrl, newKey('before-outage'), validCharge({ customerId, amount: 1 })).expect(201);
    await waitUntilAllConsumed(database);
    expect(await readiness()).toEqual({ status: 200, lagSeconds: 0 });

    await broker.stop();
    const paid = [];
    for (let index = 0; index < WHILE_DOWN; index++) {
      paid.push((await charge(service.baseUrl, newKey('during-outage'), validCharge({ customerId, amount: 10 + index })).expect(201)).body);
    }
    const { rows } = await database.query<{ n: number }>('SELECT count(*)::int AS n FROM payment_events WHERE published_at IS NULL');
    expect(rows[0]!.n).toBe(WHILE_DOWN);
    // Still ready (the broker stops only the relay), and saying how far behind the events are.
    await waitFor('readiness reports the outbox lag', async () => {
      const ready = await readiness();
      return ready.status === 200 && ready.lagSeconds! > 0.5;
    });
    await waitFor('the lag gauge reports it', async () => (await lagGauge()) > 0.5);
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 1, payments: 1 }]);

    await broker.restart();
    await waitUntilAllConsumed(database, 30_000);
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([
      { currency: 'EUR', amount: 1 + paid.reduce((sum, { amount }) => sum + amount, 0), payments: 1 + WHILE_DOWN },
    ]);
    for (const { id, orderId } of paid)
      await request(service.baseUrl)
        .get(`/api/orders/${orderId}/receipt`)
        .expect(200)
        .expect((response) => expect(response.body.chargeId).toBe(id));
    await waitFor('readiness and the gauge report no lag', async () => (await readiness()).lagSeconds === 0 && (await lagGauge()) === 0);
    expect(await metricOf(service.baseUrl, 'payments_events_dead_lettered_total', { consumer: 'projections' })).toBe(0);
  });
});
