import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import type { Pool, PoolClient } from 'pg';
import { DATABASE_POOL } from '../../src/database/database.constants.js';
import { newPaymentEvent } from '../../src/events/payment-event.js';
import { REDIS_CLIENT } from '../../src/redis/index.js';
import { outboxEntries, waitUntilAllConsumed } from '../support/events-client.js';
import { charge, ledgerCount, newKey } from '../support/payments-client.js';
import { watchRedis } from '../support/redis.js';
import { useTestApp, type TestApp } from '../support/test-app.js';

interface RedisCost {
  /** Socket writes of the service's store connection: each a round trip it waits for (auto-pipelined commands share one). */
  roundTrips: number;
  /** Commands Redis ran for the service, as MONITOR reports them; those a script ran are prefixed `lua:`. */
  commands: string[];
}

/** A statement the service's pool ran: the prepared statement's name, or the first words of its text. */
interface Statement {
  /** Which pooled connection ran it: statements of one transaction share it. */
  client: number;
  label: string;
  values: unknown[];
}

/**
 * Watches the service's Redis store connection from both sides, its socket writes and (through
 * MONITOR) the commands Redis ran for it. The watcher proves it sees with a sentinel sent on the
 * very connection, before it counts and again at the end, so that an empty list means "nothing was
 * sent", not "nothing was seen (yet)".
 */
async function watchStoreConnection(service: TestApp, stopOnFailure: (stop: () => void) => void): Promise<() => Promise<RedisCost>> {
  const store = service.app.get<Redis>(REDIS_CLIENT);
  const address = `${store.stream.localAddress}:${store.stream.localPort}`;
  const commands: string[] = [];
  const watch = await watchRedis(
    service.redis,
    (args, source) => {
      // Commands a script runs are reported with the source "lua", right after the script's own line.
      if (source.endsWith(address)) commands.push(args[0]!.toLowerCase());
      else if (source === 'lua' && commands.length > 0) commands.push(`lua:${args[0]!.toLowerCase()}`);
    },
    store,
  );
  commands.length = 0;
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
    watch.stop();
  };
  stopOnFailure(stop);
  return async () => {
    const counted = roundTrips;
    store.stream.write = write;
    await watch.caughtUp();
    stop();
    return { roundTrips: counted, commands };
  };
}

/** The idempotency package's statements are plain text (not named): labelled by what they do. */
function labelOf(config: string | { name?: string; text?: string }): string {
  const text = typeof config === 'string' ? config : (config.text ?? '');
  if (typeof config === 'object' && config.name) return config.name;
  if (/^WITH live AS/.test(text)) return 'idempotency-begin';
  if (/^INSERT INTO "idempotency_records"/.test(text)) return 'idempotency-complete';
  return text.split(/\s+/).slice(0, 3).join(' ');
}

/**
 * Counts, at the driver, every statement the service's pool runs: each client checked out of the
 * app's pool (`acquire`, emitted for pool.query and pool.connect alike) has its `query` wrapped
 * once. `pg` sends one statement per round trip (it does not pipeline), so statements are round
 * trips. pg_stat_statements and log_statement are not available on the shared server; this needs
 * neither and sees only this app's pool. Like the Redis watcher, it proves it sees a sentinel
 * statement first.
 */
class StatementWatch {
  readonly statements: Statement[] = [];
  private recording = false;
  private readonly wrapped = new WeakSet<PoolClient>();
  private readonly ids = new WeakMap<PoolClient, number>();

  constructor(private readonly pool: Pool) {
    pool.on('acquire', (client) => this.wrap(client));
  }

  /** Other work of the app (the relay's polls) may run beside the sentinel: it must be among what is seen, alone or not. */
  async start(): Promise<void> {
    this.recording = true;
    await this.pool.query('SELECT 1 AS sentinel');
    expect(this.statements.map((statement) => statement.label)).toContain('SELECT 1 AS');
    this.statements.length = 0;
  }

  stop(): Statement[] {
    this.recording = false;
    return this.statements.splice(0);
  }

  private wrap(client: PoolClient): void {
    if (this.wrapped.has(client)) return;
    this.wrapped.add(client);
    this.ids.set(client, this.ids.get(client) ?? Math.random());
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    const record = (config: unknown, values: unknown) => {
      if (!this.recording) return;
      const shaped = config as string | { name?: string; text?: string; values?: unknown[] };
      this.statements.push({
        client: this.ids.get(client)!,
        label: labelOf(shaped),
        values: (Array.isArray(values) ? values : typeof shaped === 'object' ? shaped.values : undefined) ?? [],
      });
    };
    client.query = ((...args: unknown[]) => {
      record(args[0], args[1]);
      return query(...args);
    }) as typeof client.query;
  }
}

/** Transactions (BEGIN … COMMIT on one client) among recorded statements, as lists of labels. */
function transactions(statements: Statement[]): Array<{ labels: string[]; statements: Statement[] }> {
  const open = new Map<number, Statement[]>();
  const done: Array<{ labels: string[]; statements: Statement[] }> = [];
  for (const statement of statements) {
    if (statement.label === 'BEGIN') open.set(statement.client, [statement]);
    else if (open.has(statement.client)) {
      const list = open.get(statement.client)!;
      list.push(statement);
      if (statement.label === 'COMMIT' || statement.label === 'ROLLBACK') {
        open.delete(statement.client);
        done.push({ labels: list.map((entry) => entry.label), statements: list });
      }
    }
  }
  return done;
}

/**
 * What a charge costs in Redis and PostgreSQL, pinned so that it cannot grow unnoticed: a change
 * that adds a round trip or a statement to the business path fails here and has to say why in this
 * file (and in docs/performance.md, "Round trips").
 */
describe('the round trips of a charge', () => {
  // No webhooks (the gateway's own traffic) and no events worker (its outbox polling is measured below).
  const service = useTestApp({ EVENTS_WORKER: 'false', WEBHOOK_DELIVERY: 'false' });
  let stopWatching: (() => void) | undefined;
  let statements: StatementWatch;
  afterEach(() => {
    stopWatching?.();
    statements?.stop();
  });

  beforeAll(async () => {
    statements = new StatementWatch(service.app.get<Pool>(DATABASE_POOL));
    // Redis learns a script on its first use (one EVAL more), and each pooled connection prepares
    // a named statement on its first use: the warm-up measures the steady state.
    for (let i = 0; i < 3; i++) await charge(service.baseUrl, newKey('warm-up')).expect(201);
  });

  it('makes 2 Redis round trips and 6 PostgreSQL statements for a fresh charge', async () => {
    const key = newKey('fresh');
    const cost = await watchStoreConnection(service, (stop) => (stopWatching = stop));
    await statements.start();
    await charge(service.baseUrl, key).expect(201);
    const ran = statements.stop();
    const { roundTrips, commands } = await cost();
    expect(roundTrips).toBe(2);
    expect(commands).toEqual([
      // begin: take the lock in Redis, or find the hot copy of the stored outcome
      'evalsha',
      'lua:get',
      'lua:set',
      // complete: while the lock is still ours, store the hot copy and release the lock
      'evalsha',
      'lua:get',
      'lua:set',
      'lua:del',
    ]);
    expect(ran.map((statement) => statement.label)).toEqual([
      // begin in PostgreSQL: the durable record, else its lock (one INSERT … ON CONFLICT)
      'nestjs-idempotency-begin:idempotency_records',
      // the order, CREATED
      'orders-create',
      // the gateway: its behaviour and any charge of the downstream key, then the charge
      'gateway-behavior-and-charge',
      'gateway-record-charge',
      // one statement: the payment, the order PAID (compare-and-set) and its event in the outbox
      'orders-transition',
      // complete in PostgreSQL: the outcome stored while the lock is ours
      'nestjs-idempotency-complete:idempotency_records',
    ]);
    expect(ran.filter((statement) => statement.label === 'BEGIN')).toEqual([]);
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
  });

  it('makes 1 Redis round trip and no PostgreSQL statement for a replay', async () => {
    const key = newKey('replay');
    await charge(service.baseUrl, key).expect(201);
    const cost = await watchStoreConnection(service, (stop) => (stopWatching = stop));
    await statements.start();
    const replay = await charge(service.baseUrl, key).expect(201);
    const ran = statements.stop();
    expect(replay.headers['idempotency-cached']).toBe('true');
    const { roundTrips, commands } = await cost();
    expect(roundTrips).toBe(1);
    expect(commands).toEqual(['evalsha', 'lua:get', 'lua:pttl']);
    expect(ran).toEqual([]);
  });
});

describe('the PostgreSQL cost of relaying the events of the outbox and consuming them', () => {
  const service = useTestApp({ WEBHOOK_DELIVERY: 'false' });
  let statements: StatementWatch;
  afterEach(() => {
    statements?.stop();
  });

  beforeAll(async () => {
    statements = new StatementWatch(service.app.get<Pool>(DATABASE_POOL));
    await charge(service.baseUrl, newKey('warm-up')).expect(201);
    await waitUntilAllConsumed(service.database);
  });

  /** The relay's transactions that published events (its idle polls take nothing and mark nothing). */
  const relayed = (ran: Statement[]) => transactions(ran).filter(({ labels }) => labels.includes('relay-mark-published'));
  /** The consumer's transactions: one per delivery it applied. */
  const consumed = (ran: Statement[]) => transactions(ran).filter(({ labels }) => labels.includes('projections-apply'));
  const RELAY_BATCH = ['BEGIN', 'relay-take-unpublished', 'relay-mark-published', 'COMMIT'];
  // The idempotency record begun and completed in the transaction of the effect (@Idempotent({ inTransaction: true })).
  const CONSUME_EVENT = [
    'BEGIN',
    'nestjs-idempotency-begin:idempotency_records',
    'projections-apply',
    'nestjs-idempotency-complete:idempotency_records',
    'COMMIT',
  ];

  it('relays a charge’s payment.succeeded in one transaction (take, mark published) and consumes it in one (record, apply, complete)', async () => {
    await statements.start();
    await charge(service.baseUrl, newKey('published')).expect(201);
    await waitUntilAllConsumed(service.database);
    const ran = statements.stop();
    expect(relayed(ran).map(({ labels }) => labels)).toEqual([RELAY_BATCH]);
    expect(consumed(ran).map(({ labels }) => labels)).toEqual([CONSUME_EVENT]);
  });

  it('relays a batch of events that arrive together in one transaction, marks them all published with one statement, and consumes each once', async () => {
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
    await statements.start();
    // One transaction: the relay's next poll takes all five.
    await service.database.query(
      `INSERT INTO payment_events (id, type, occurred_at, data) SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[])`,
      [
        events.map((event) => event.id),
        events.map((event) => event.type),
        events.map((event) => event.occurredAt),
        events.map((event) => JSON.stringify(event.data)),
      ],
    );
    await waitUntilAllConsumed(service.database);
    const ran = statements.stop();
    const batches = relayed(ran);
    expect(batches.map(({ labels }) => labels)).toEqual([RELAY_BATCH]);
    const marked = batches[0]!.statements.find((statement) => statement.label === 'relay-mark-published')!;
    const positions = (await outboxEntries(service.database))
      .filter((entry) => events.some((event) => event.id === entry.event.id))
      .map((entry) => String(entry.position));
    expect((marked.values[0] as string[]).map(String).sort()).toEqual(positions.sort());
    const applied = consumed(ran);
    expect(applied.map(({ labels }) => labels)).toEqual(events.map(() => CONSUME_EVENT));
    const appliedIds = applied.map(({ statements: list }) => (list.find((statement) => statement.label === 'projections-apply')!.values[1] as string[])[0]);
    expect(appliedIds.sort()).toEqual(events.map((event) => event.id).sort());
    const { rows } = await service.database.query<{ amount: string }>(
      `SELECT amount FROM balances WHERE owner = 'merchant-batch' AND customer_id = 'cus_batch'`,
    );
    expect(rows.map((row) => Number(row.amount))).toEqual([500]);
  });
});
