import { expect } from '@jest/globals';
import { PaymentError, PaymentsClient, type ChargeRequest, type ChargeResult } from '@idempotent-payments/client';
import request from 'supertest';
import type { ServiceProcess } from '../harness/index.js';
import { newKey, validCharge } from './payments-client.js';
import { expectProblem } from './problem.js';
import { waitFor } from './wait-for.js';

/** One HTTP answer to a charge attempt, as the load's fetch saw it. */
export interface ChargeAnswer {
  key: string;
  /** Which of the instances answered. */
  instance: number;
  status: number;
  text: string;
  headers: Record<string, string>;
  answeredAt: number;
}

/** One idempotency key of a load: its body, and every answer a request with that body got, oldest first. */
export interface LoadedKey {
  key: string;
  body: ChargeRequest;
  answers: ChargeAnswer[];
}

/** The tests' outages last seconds: short waits between attempts, on top of the service's Retry-After. */
const BACKOFF = { baseMs: 50, maxMs: 1000 };

/**
 * Charges with distinct keys (and distinct bodies) sent through the project's client, each attempt
 * to the instance after the one its key's previous attempt went to (so a retry lands on another
 * instance), a bounded number in flight; every raw answer is kept for the assertions. An attempt
 * that gets no HTTP answer at all (an instance died, or hung past the client's attempt timeout)
 * fails the load, although the client would retry it.
 */
export class ChargeLoad {
  readonly keys: LoadedKey[];
  private readonly keysByName: Map<string, LoadedKey>;
  /** The instance each key's next attempt goes to. */
  private readonly nextInstance = new Map<string, number>();
  private readonly everyAnswer: ChargeAnswer[] = [];
  private readonly unanswered: string[] = [];
  private readonly client: PaymentsClient;
  private running?: Promise<void>;

  constructor(
    private readonly services: ServiceProcess[],
    count: number,
    options: { prefix: string; customerId: string },
  ) {
    this.keys = Array.from({ length: count }, (_, index) => ({
      key: newKey(options.prefix),
      body: validCharge({ amount: 1000 + index, customerId: options.customerId }),
      answers: [],
    }));
    this.keysByName = new Map(this.keys.map((loaded) => [loaded.key, loaded]));
    this.keys.forEach((loaded, index) => this.nextInstance.set(loaded.key, index % services.length));
    this.client = this.recordingClient((answer) => this.keysByName.get(answer.key)!.answers.push(answer));
  }

  /** Sends every key once, `concurrency` at a time; resolves once each has its first answer. */
  start(concurrency: number): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < this.keys.length) {
        const loaded = this.keys[next++]!;
        // One attempt per key, so the load moves on through an outage and many keys meet it; their
        // answers are judged from the record, and retryUntilAcknowledged finishes them after.
        await this.client.charge(loaded.body, { idempotencyKey: loaded.key, maxAttempts: 1 }).catch((error: unknown) => {
          if (!(error instanceof PaymentError)) throw error;
        });
      }
    };
    this.running = Promise.all(Array.from({ length: concurrency }, worker)).then(() => this.expectEveryAttemptAnswered());
    return this.running;
  }

  /** Every answer any request of this load got, in the order they came. */
  get answers(): readonly ChargeAnswer[] {
    return this.everyAnswer;
  }

  /** How many keys got a 2xx so far. */
  get acknowledged(): number {
    return this.keys.filter((loaded) => firstSuccess(loaded) !== undefined).length;
  }

  async waitUntilAcknowledged(count: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(`${count} charges are acknowledged`, async () => this.acknowledged >= count, timeoutMs);
  }

  async waitUntilAnswered(description: string, matches: (answer: ChargeAnswer) => boolean, timeoutMs = 20_000): Promise<void> {
    await waitFor(description, async () => this.everyAnswer.some(matches), timeoutMs);
  }

  /** Each key without a 2xx is charged again by the client, with its key and body, until it settles or `timeoutMs` passes. */
  async retryUntilAcknowledged(timeoutMs = 30_000): Promise<void> {
    await this.running;
    const pending = this.keys.filter((loaded) => firstSuccess(loaded) === undefined);
    await Promise.all(pending.map((loaded) => this.chargeAgain(loaded, timeoutMs)));
    this.expectEveryAttemptAnswered();
  }

  /** The key's payment asked of the client again: its result, and the raw answer that settled it. */
  async chargeAgain(loaded: LoadedKey, deadlineMs = 30_000): Promise<{ result: ChargeResult; answer: ChargeAnswer }> {
    const result = await this.client.charge(loaded.body, { idempotencyKey: loaded.key, deadlineMs });
    return { result, answer: loaded.answers.at(-1)! };
  }

  /**
   * The key sent with another body, as a second payment would be by mistake. A client of its own
   * sends it: the load's client refuses, without sending, a key it sent with another body. Its
   * answers are the load's, not the key's. Resolves with what the client settled on (a
   * PaymentRejectedError, normally) and the raw answer that settled it.
   */
  async reuseKey(loaded: LoadedKey, body: ChargeRequest): Promise<{ outcome: unknown; answer: ChargeAnswer }> {
    const answers: ChargeAnswer[] = [];
    const client = this.recordingClient((answer) => answers.push(answer));
    const outcome = await client.charge(body, { idempotencyKey: loaded.key }).catch((error: unknown) => error);
    return { outcome, answer: answers.at(-1)! };
  }

  /** A client whose every attempt goes to its key's next instance, its answer kept in the load's record and given to `keep`. */
  private recordingClient(keep: (answer: ChargeAnswer) => void): PaymentsClient {
    const routeAndRecord = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const key = new Headers(init?.headers).get('idempotency-key')!;
      const instance = this.nextInstance.get(key)!;
      this.nextInstance.set(key, (instance + 1) % this.services.length);
      const url = new URL(input instanceof Request ? input.url : input);
      const target = new URL(url.pathname + url.search, this.services[instance]!.baseUrl);
      try {
        const response = await fetch(target, init);
        const answer: ChargeAnswer = {
          key,
          instance,
          status: response.status,
          text: await response.clone().text(),
          headers: Object.fromEntries(response.headers),
          answeredAt: Date.now(),
        };
        this.everyAnswer.push(answer);
        keep(answer);
        return response;
      } catch (error) {
        this.unanswered.push(`${key} on instance ${instance}: ${String(error)}`);
        throw error;
      }
    };
    return new PaymentsClient({ baseUrl: this.services[0]!.baseUrl, fetch: routeAndRecord, backoff: BACKOFF });
  }

  private expectEveryAttemptAnswered(): void {
    expect(this.unanswered).toEqual([]);
  }
}

export function firstSuccess(loaded: LoadedKey): ChargeAnswer | undefined {
  return loaded.answers.find((answer) => answer.status >= 200 && answer.status < 300);
}

/** What a charge of these tests may answer besides 201, and with which codes: nothing else, and never a 500. */
const EXPECTED_PROBLEMS: Record<number, string[]> = {
  409: ['REQUEST_IN_PROGRESS'],
  // The same key with another body.
  422: ['IDEMPOTENCY_KEY_REUSED'],
};

/**
 * No 500 ever: each answer of the load is 201, or a problem+json: an outage's 503 with
 * Retry-After and one of `outageCodes`, a 409 REQUEST_IN_PROGRESS with Retry-After (a lock the
 * outage left behind, until it expires), or the 422 of a reused key.
 */
export function expectOnlyCleanOutageAnswers(answers: readonly ChargeAnswer[], outageCodes: string[]): void {
  const codes: Record<number, string[]> = { ...EXPECTED_PROBLEMS, 503: outageCodes };
  const statuses = new Set(answers.map((answer) => answer.status));
  expect([...statuses].filter((status) => status !== 201 && !codes[status])).toEqual([]);
  for (const answer of answers.filter((candidate) => candidate.status !== 201)) {
    const problem = expectProblem(answer);
    if (answer.status !== 422) expect(answer.headers['retry-after']).toMatch(/^\d+$/);
    expect(codes[answer.status]).toContain(problem.code);
  }
}

/** An order as GET /api/orders shows it, the fields tests look at. */
export interface OrderBody {
  id: string;
  idempotencyKey: string;
  status: string;
  amount: number;
  createdAt: string;
  payment?: { chargeId: string };
  failure?: { code: string; retryable: boolean };
  gatewayStatus?: string;
}

/** The order a key created, as the caller's lookup by key shows it. */
export async function orderOf(baseUrl: string, key: string): Promise<OrderBody | undefined> {
  const response = await request(baseUrl).get('/api/orders').query({ idempotencyKey: key }).expect(200);
  return (response.body.data as OrderBody[])[0];
}

/** A charge of the gateway's ledger, the fields tests look at. */
export interface LedgerCharge {
  id: string;
  orderId: string;
  idempotencyKey: string;
  amount: number;
  currency: string;
}

/** Every order of the (anonymous) caller, page by page. */
export async function allOrders(baseUrl: string): Promise<OrderBody[]> {
  const orders: OrderBody[] = [];
  let cursor: string | undefined;
  do {
    const response = await request(baseUrl)
      .get('/api/orders')
      .query({ limit: 100, ...(cursor ? { cursor } : {}) })
      .expect(200);
    orders.push(...(response.body.data as OrderBody[]));
    cursor = response.body.nextCursor ?? undefined;
  } while (cursor);
  return orders;
}

/** What the gateway really charged (its ledger: the ground truth), optionally for one client key. */
export async function ledger(baseUrl: string, filter: { idempotencyKey?: string } = {}): Promise<LedgerCharge[]> {
  return (await request(baseUrl).get('/api/admin/provider/charges').query(filter).expect(200)).body.charges as LedgerCharge[];
}

/**
 * What a user checks after a fault, for every key of the load (each acknowledged by now): a retry,
 * on another instance, replays the bytes of its first 2xx answer (Idempotency-Cached: true); the
 * same key with another body is 422; the gateway charged exactly once per key, the charge the
 * first 2xx answer named; and its order is listed, PAID with that charge, whose payment is there.
 */
export async function expectEveryChargeKeptOnce(load: ChargeLoad, services: ServiceProcess[]): Promise<void> {
  const instances = services.length;
  for (const loaded of load.keys) {
    const first = firstSuccess(loaded);
    expect([loaded.key, first?.status]).toEqual([loaded.key, 201]);
    const { result, answer: replay } = await load.chargeAgain(loaded);
    expect([loaded.key, replay.status, replay.headers['idempotency-cached'], result.replayed]).toEqual([loaded.key, 201, 'true', true]);
    expect(replay.instance).not.toBe(first!.instance);
    expect(replay.text).toBe(first!.text);
    const reuse = await load.reuseKey(loaded, { ...loaded.body, amount: loaded.body.amount + 1 });
    expect(reuse.outcome).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    expectProblem(reuse.answer, 422, 'IDEMPOTENCY_KEY_REUSED');
  }

  const acknowledged = new Map(load.keys.map((loaded) => [loaded.key, JSON.parse(firstSuccess(loaded)!.text) as { id: string; orderId: string }]));
  const charges = (await ledger(services[0]!.baseUrl)).filter((charged) => acknowledged.has(charged.idempotencyKey));
  expect(charges.map((charged) => charged.idempotencyKey).sort()).toEqual([...acknowledged.keys()].sort());
  for (const charged of charges) {
    expect(charged).toMatchObject({ id: acknowledged.get(charged.idempotencyKey)!.id, orderId: acknowledged.get(charged.idempotencyKey)!.orderId });
  }

  const orders = new Map((await allOrders(services[instances - 1]!.baseUrl)).map((order) => [order.idempotencyKey, order]));
  for (const [key, payment] of acknowledged) {
    expect([key, orders.get(key)]).toEqual([
      key,
      expect.objectContaining({ id: payment.orderId, status: 'PAID', payment: expect.objectContaining({ chargeId: payment.id }) }),
    ]);
    const stored = await request(services[1]!.baseUrl).get(`/api/payments/${payment.id}`);
    expect([key, stored.status, stored.body.orderId]).toEqual([key, 200, payment.orderId]);
  }
}
