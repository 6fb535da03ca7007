import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { newPaymentEvent, PAYMENTS_STREAM, toStreamFields } from '../../src/events/payment-event.js';
import { REDIS_CLIENT } from '../../src/redis/index.js';
import { charge, ledgerCount, newKey } from '../support/payments-client.js';
import { useTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';
import { monitorRedis } from '../support/redis.js';

interface RedisCost {
  /** Socket writes of the service's store connection: each a round trip it waits for (auto-pipelined commands share one). */
  roundTrips: number;
  /** Commands Redis ran for the service, as MONITOR reports them; those a script ran are prefixed `lua:`. */
  commands: string[];
}

/**
 * Watches the service's store connection from both sides, its socket writes and (through MONITOR)
 * the commands Redis ran for it, until the returned function reads the cost.
 */
async function watchStore(service: TestApp, stopOnFailure: (stop: () => void) => void): Promise<() => Promise<RedisCost>> {
  const store = service.app.get<Redis>(REDIS_CLIENT);
  const address = `${store.stream.localAddress}:${store.stream.localPort}`;
  const monitor = await monitorRedis(service.redis);
  const commands: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    // Commands a script runs are reported with the source "lua", right after the script's own line.
    if (source.endsWith(address)) commands.push(args[0]!.toLowerCase());
    else if (source === 'lua' && commands.length > 0) commands.push(`lua:${args[0]!.toLowerCase()}`);
  });
  let roundTrips = 0;
  // Counts the socket writes of the service's store connection (see RedisCost.roundTrips).
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its stream as `this`, below
  const write = store.stream.write;
  store.stream.write = function (this: typeof store.stream, ...args: Parameters<typeof write>) {
    roundTrips += 1;
    return write.apply(this, args);
  } as typeof write;
  const stop = () => {
    store.stream.write = write;
    monitor.disconnect();
  };
  stopOnFailure(stop);
  return async () => {
    const counted = roundTrips;
    store.stream.write = write;
    await sleep(100); // for MONITOR to deliver the last commands
    stop();
    return { roundTrips: counted, commands };
  };
}

/**
 * What a charge costs in Redis, pinned so that it cannot grow unnoticed: a change that adds a round
 * trip or a command to the business path fails here and has to say why in this file.
 */
describe('the Redis cost of a charge', () => {
  // No webhooks (the gateway's own traffic) and no events consumer (measured on its own below).
  const service = useTestApp({ EVENTS_WORKER: 'false', WEBHOOK_DELIVERY: 'false' });
  let stopWatching: (() => void) | undefined;
  afterEach(() => stopWatching?.());

  beforeAll(async () => {
    // Redis learns a script on its first use (one EVAL more): the warm-up measures the steady state.
    await charge(service.baseUrl, newKey('warm-up')).expect(201);
  });

  it('makes 6 round trips for a fresh charge', async () => {
    const key = newKey('fresh');
    const cost = await watchStore(service, (stop) => (stopWatching = stop));
    await charge(service.baseUrl, key).expect(201);
    const { roundTrips, commands } = await cost();
    expect(roundTrips).toBe(6);
    expect(commands).toEqual([
      // begin: take the lock, or find the stored outcome
      'evalsha',
      'lua:get',
      'lua:set',
      // the order, created CREATED with its owner, key and CREATED index entries
      'evalsha',
      'lua:set',
      'lua:zadd',
      'lua:hsetnx',
      'lua:zadd',
      // the gateway: its behaviour and ledger, then the charge
      'get',
      'hget',
      'hsetnx',
      // the payment, and the order PAID with its event
      'evalsha',
      'lua:set',
      'lua:get',
      'lua:set',
      'lua:zrem',
      'lua:xadd',
      // complete: while the lock is still ours, store the outcome and release the lock
      'evalsha',
      'lua:get',
      'lua:set',
      'lua:del',
    ]);
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
  });

  it('makes 1 round trip for a replay', async () => {
    const key = newKey('replay');
    await charge(service.baseUrl, key).expect(201);
    const cost = await watchStore(service, (stop) => (stopWatching = stop));
    const replay = await charge(service.baseUrl, key).expect(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const { roundTrips, commands } = await cost();
    expect(roundTrips).toBe(1);
    expect(commands).toEqual(['evalsha', 'lua:get', 'lua:pttl']);
  });
});

describe('the Redis cost of consuming the event of a charge', () => {
  const service = useTestApp({ WEBHOOK_DELIVERY: 'false' });

  /** Charges and waits for the events worker to have written the receipt. */
  async function chargeAndConsume(): Promise<void> {
    const { body } = await charge(service.baseUrl, newKey('consumed')).expect(201);
    await waitFor('the receipt', async () => (await service.redis.exists(`receipt:${body.orderId as string}`)) === 1);
  }

  beforeAll(chargeAndConsume);

  it('applies a payment.succeeded with 3 round trips: read, apply, acknowledge', async () => {
    const monitor = await monitorRedis(service.redis);
    const consumer: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      const [name, ...rest] = args;
      const command = name!.toLowerCase();
      // The consumer's commands: its reads and acknowledgements, and the script that applies an event with its consumed marker.
      if (command === 'xreadgroup' || command === 'xack' || (command === 'evalsha' && rest.some((arg) => arg.startsWith('events:consumed:'))))
        consumer.push(command);
    });
    try {
      await sleep(100);
      consumer.length = 0;
      await chargeAndConsume();
      await sleep(100);
      // The read that returned the event, then one step per event; the blocking reads before and after it are waiting, not cost.
      // MONITOR shows a blocking read when it starts: the read that returned this event started before, and the next ones wait.
      expect(consumer.filter((command) => command !== 'xreadgroup')).toEqual(['evalsha', 'xack']);
    } finally {
      monitor.disconnect();
    }
  });

  it('applies a batch of events that arrive together, then acknowledges them all with one XACK', async () => {
    const events = Array.from({ length: 5 }, (_, index) =>
      newPaymentEvent('payment.succeeded', new Date().toISOString(), {
        orderId: `ord_batch_${index}_${newKey('batch')}`,
        owner: 'merchant-batch',
        customerId: 'cus_batch',
        amount: 100,
        currency: 'EUR',
        chargeId: `ch_batch_${index}`,
      }),
    );
    const monitor = await monitorRedis(service.redis);
    const acknowledged: number[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      // XACK stream group id…: how many entries each acknowledgement covers.
      if (args[0]!.toLowerCase() === 'xack') acknowledged.push(args.length - 3);
    });
    try {
      await sleep(100);
      // One transaction: the blocked read is served after it, with all five entries.
      const transaction = service.redis.multi();
      for (const event of events) transaction.xadd(PAYMENTS_STREAM, '*', ...toStreamFields(event));
      await transaction.exec();
      await waitFor('the receipts', async () => (await service.redis.exists(...events.map((event) => `receipt:${event.data.orderId}`))) === 5);
      await waitFor('the acknowledgement', () => Promise.resolve(acknowledged.length > 0));
      expect(acknowledged).toEqual([5]);
      expect(await service.redis.hget('balance:merchant-batch:cus_batch', 'EUR:amount')).toBe('500');
    } finally {
      monitor.disconnect();
    }
  });
});
