import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { Pool } from 'pg';
import { TestDatabase } from '../../../test/harness/index.js';
import { waitFor } from '../../../test/support/wait-for.js';
import type { IdempotencyReport } from '../src/index.js';
import { PostgresIdempotencyStore } from '../src/storage/postgres.index.js';
import { recommendedPool } from './fixture/fixture-app.js';
import { HttpPayments, Ledger, LedgerHandlers, PaymentHandlers, PG_POOL, QUEUE, startMessageApp, type MessageApp } from './fixture/message-handlers.js';
import { RabbitVhost, RawPublisher } from './fixture/rabbitmq.js';
import { newKey } from './http-client.js';

let vhost: RabbitVhost;
beforeAll(async () => {
  vhost = await RabbitVhost.create();
});
afterAll(async () => {
  await vhost?.delete();
});

const drained = async () => {
  const { ready, unacked } = await vhost.queueCounts(QUEUE);
  return ready === 0 && unacked === 0;
};

/** The handler writes its effect and the record in its own transaction: `@Idempotent({ inTransaction: true })` and `run(…, { transaction })`. */
describe('a message handler with the PostgreSQL store and its own transaction', () => {
  let database: TestDatabase;
  let pool: Pool;
  let app: MessageApp;
  let publisher: RawPublisher;
  const ledger = new Ledger();
  const reports: IdempotencyReport['outcome'][] = [];

  beforeAll(async () => {
    database = await TestDatabase.create();
    pool = recommendedPool(database.connection);
    await pool.query('CREATE TABLE ledger_entries (account text NOT NULL, amount integer NOT NULL, key text NOT NULL)');
    const store = new PostgresIdempotencyStore(pool);
    await store.isLocked('schema'); // the store's table, before the first handler counts its rows
    app = await startMessageApp({
      url: vhost.url,
      module: { store, messages: { ack: 'manual' }, onOutcome: (report) => void reports.push(report.outcome) },
      controllers: [LedgerHandlers],
      providers: [{ provide: PG_POOL, useValue: pool }],
      ledger,
    });
    publisher = await RawPublisher.open(vhost.url);
  });

  afterAll(async () => {
    await publisher?.close();
    await app?.close();
    await pool?.end();
    await database?.drop();
  });

  const counts = async (key: string): Promise<{ entries: number; records: number }> => {
    const entries = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_entries WHERE key = $1', [key]);
    const records = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM idempotency_records WHERE record_id = $1', [ledger.recordIds.get(key)]);
    return { entries: entries.rows[0]!.n, records: records.rows[0]!.n };
  };

  it('commits the effect and its record together: a throw inside leaves neither, the redelivery commits both once', async () => {
    const key = newKey('credit');
    ledger.failures.add(key);
    const message = { pattern: 'account.credit', data: { account: 'acc_1', amount: 250 }, headers: { 'Idempotency-Key': key } };
    await publisher.publish(QUEUE, message);
    // The first attempt inserted its entry, then threw: rolled back, and the delivery requeued.
    await waitFor('the first attempt rolled back', async () => ledger.afterRollback.length === 1);
    expect(ledger.afterRollback[0]).toEqual({ entries: 0, records: 0 });
    await waitFor('the redelivery committed', async () => ledger.count(`credit:${key}`) === 1);
    await waitFor('the queue drained', drained);
    expect(await counts(key)).toEqual({ entries: 1, records: 1 });

    // The same message again: replayed from the committed record, nothing inserted.
    const replays = reports.filter((outcome) => outcome === 'replay').length;
    await publisher.publish(QUEUE, message);
    await waitFor('the duplicate replayed', async () => reports.filter((outcome) => outcome === 'replay').length === replays + 1);
    await waitFor('the queue drained', drained);
    expect(await counts(key)).toEqual({ entries: 1, records: 1 });
    expect(ledger.count(`credit:${key}`)).toBe(1);
  });

  it('applies a message delivered three times at once once', async () => {
    const key = newKey('credit');
    const message = { pattern: 'account.credit', data: { account: 'acc_2', amount: 10 }, headers: { 'Idempotency-Key': key } };
    await Promise.all([publisher.publish(QUEUE, message), publisher.publish(QUEUE, message), publisher.publish(QUEUE, message)]);
    await waitFor('the queue drained', drained);
    expect(await counts(key)).toEqual({ entries: 1, records: 1 });
    expect(ledger.count(`credit:${key}`)).toBe(1);
  });
});

/** HTTP and the microservice in one process (connectMicroservice, startAllMicroservices): both idempotent, neither changed by the other. */
describe('a hybrid app: an @Idempotent() route and message handlers', () => {
  let app: MessageApp & { http?: INestApplication };
  let publisher: RawPublisher;
  let url: string;
  const ledger = new Ledger();

  beforeAll(async () => {
    app = await startMessageApp({
      url: vhost.url,
      module: { messages: { ack: 'manual' } },
      controllers: [HttpPayments, PaymentHandlers],
      hybrid: true,
      ledger,
    });
    const address = app.http!.getHttpServer().address() as { port: number };
    url = `http://127.0.0.1:${address.port}`;
    publisher = await RawPublisher.open(vhost.url);
  });

  afterAll(async () => {
    await publisher?.close();
    await app?.close();
  });

  const post = (headers: Record<string, string>, body: unknown) =>
    fetch(`${url}/payments`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('answers HTTP as before: the first response, then its replay; no key is a 400', async () => {
    const key = newKey('http');
    const first = await post({ 'idempotency-key': key }, { amount: 5 });
    const again = await post({ 'idempotency-key': key }, { amount: 5 });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotency-cached')).toBe('false');
    expect(again.headers.get('idempotency-cached')).toBe('true');
    expect(await again.text()).toBe(await first.text());
    const missing = await post({}, { amount: 5 });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { code: string }).code).toBe('IDEMPOTENCY_KEY_MISSING');
  });

  it('runs a message published twice once, beside the HTTP routes', async () => {
    const key = newKey('evt');
    const message = { pattern: 'payment.succeeded', data: { amount: 5 }, headers: { 'Idempotency-Key': key } };
    await publisher.publish(QUEUE, message);
    await publisher.publish(QUEUE, message);
    await waitFor('applied', async () => ledger.count(`succeeded:${key}`) === 1);
    await waitFor('the queue drained', drained);
    expect(ledger.count(`succeeded:${key}`)).toBe(1);
  });

  it('keeps an HTTP key and a message key of the same text apart', async () => {
    const key = newKey('shared');
    expect((await post({ 'idempotency-key': key }, { amount: 1 })).status).toBe(201);
    await publisher.publish(QUEUE, { pattern: 'payment.succeeded', data: { amount: 1 }, headers: { 'Idempotency-Key': key } });
    await waitFor('the message applied', async () => ledger.count(`succeeded:${key}`) === 1);
  });
});
