import { afterAll, beforeAll, expect, it } from '@jest/globals';
import amqplib from 'amqplib';
import pg from 'pg';
import { PROJECTIONS_DEAD_LETTER_QUEUE } from '../../src/events/payment-events.topology.js';
import { RedisServer, ServiceProcess } from '../harness/index.js';
import { fileBrokerUrl, publishByHand } from '../support/broker.js';
import { fileDatabaseUrl } from '../support/database.js';
import { balanceOf, waitUntilAllConsumed } from '../support/events-client.js';
import { metricOf } from '../support/metrics.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

const MAX_DELIVERIES = 3;

/**
 * A message on `payment.succeeded` that is not a payment event fails every delivery: after
 * EVENTS_MAX_DELIVERIES the queue dead-letters it (the consumer logs it and counts it), and the
 * payment events around it are consumed as ever.
 */
describeWithRedisBinary('a poison message on payment.succeeded', () => {
  let redis: RedisServer;
  let service: ServiceProcess;
  let database: pg.Pool;

  beforeAll(async () => {
    redis = await RedisServer.start();
    const databaseUrl = await fileDatabaseUrl();
    database = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    service = await ServiceProcess.start({
      REDIS_URL: redis.url,
      DATABASE_URL: databaseUrl,
      BROKER_URL: await fileBrokerUrl(),
      EVENTS_MAX_DELIVERIES: String(MAX_DELIVERIES),
      LOG_LEVEL: 'log',
      RATE_LIMIT_MAX: '0',
      WEBHOOK_DELIVERY: 'false',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await database?.end();
    await redis?.stop();
  });

  const deadLettered = () => metricOf(service.baseUrl, 'payments_events_dead_lettered_total', { consumer: 'projections' });

  it(`is dead-lettered after ${MAX_DELIVERIES} deliveries with a log line and the metric, while good events go on being consumed`, async () => {
    const customerId = 'cus_poison';
    const poisonId = `poison-${newKey()}`;
    await charge(service.baseUrl, newKey('before-poison'), validCharge({ customerId, amount: 100 })).expect(201);
    await waitUntilAllConsumed(database);

    await publishByHand(await fileBrokerUrl(), [{ body: { hello: 'not a payment event' }, id: poisonId }]);
    const paid = [];
    for (const amount of [20, 3]) paid.push((await charge(service.baseUrl, newKey('after-poison'), validCharge({ customerId, amount })).expect(201)).body);

    await waitFor('the poison message is dead-lettered', async () => (await deadLettered()) >= 1, 20_000);
    await waitUntilAllConsumed(database);
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 123, payments: 3 }]);

    // In the dead-letter queue, as published, once.
    const connection = await amqplib.connect(await fileBrokerUrl());
    try {
      const channel = await connection.createChannel();
      const letters = [];
      for (let letter = await channel.get(PROJECTIONS_DEAD_LETTER_QUEUE); letter; letter = await channel.get(PROJECTIONS_DEAD_LETTER_QUEUE))
        letters.push(letter);
      expect(letters.map((letter) => [letter.properties.messageId, JSON.parse(letter.content.toString())])).toEqual([
        [poisonId, { hello: 'not a payment event' }],
      ]);
    } finally {
      await connection.close();
    }
    expect(await deadLettered()).toBe(1);
    const lines = service.logs.split('\n').filter((line) => line.includes(poisonId) && line.includes('dead-lettered'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`failed ${MAX_DELIVERIES} deliveries (not a payment event)`);
  });
});
