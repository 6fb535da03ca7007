import { expect } from '@jest/globals';
import request from 'supertest';
import type { ServiceProcess } from '../../tools/process/index.js';
import { charge, newKey, validCharge } from './payments-client.js';
import { expectProblem } from './problem.js';
import { waitFor } from './wait-for.js';

/** One HTTP answer to a charge, as a client keeps it. */
export interface ChargeAnswer {
  key: string;
  /** Which of the instances answered. */
  instance: number;
  status: number;
  text: string;
  headers: Record<string, string>;
  answeredAt: number;
}

/** One idempotency key of a load: its body, and every answer it got, oldest first. */
export interface LoadedKey {
  key: string;
  body: ReturnType<typeof validCharge>;
  answers: ChargeAnswer[];
}

/** A charge's answers the client may see during an outage: each is retried with the same key. */
const RETRYABLE = new Set([409, 503]);

/**
 * Charges with distinct keys (and distinct bodies) spread round-robin over several instances, a
 * bounded number in flight; every answer is kept for the assertions. A request that gets no HTTP
 * answer at all (the instance died) fails the load.
 */
export class ChargeLoad {
  readonly keys: LoadedKey[];
  private readonly everyAnswer: ChargeAnswer[] = [];
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
  }

  /** Sends every key once, `concurrency` at a time; resolves once each has its first answer. */
  start(concurrency: number): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < this.keys.length) {
        const index = next++;
        await this.send(this.keys[index]!, index % this.services.length);
      }
    };
    this.running = Promise.all(Array.from({ length: concurrency }, worker)).then(() => undefined);
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

  /**
   * Each key without a 2xx is retried with the same key and body, on another instance each time,
   * until it gets one; anything but 409 and 503 on the way fails.
   */
  async retryUntilAcknowledged(timeoutMs = 30_000): Promise<void> {
    await this.running;
    const pending = this.keys.filter((loaded) => firstSuccess(loaded) === undefined);
    await Promise.all(
      pending.map(async (loaded, index) => {
        const answer = await this.sendUntilSettled(loaded, index, loaded.body, timeoutMs);
        if (answer.status >= 300) throw new Error(`${loaded.key}: a retry answered ${answer.status} ${answer.text}`);
      }),
    );
  }

  /**
   * The request as a client retries it: again, on the next instance each time, while the answer is
   * one to retry later (409 in progress, 503 unavailable; each judged with the load's answers);
   * the first other answer.
   */
  async sendUntilSettled(loaded: LoadedKey, firstInstance: number, body: unknown = loaded.body, timeoutMs = 30_000): Promise<ChargeAnswer> {
    let attempt = firstInstance;
    let settled: ChargeAnswer | undefined;
    await waitFor(
      `${loaded.key} gets an answer other than 409 or 503`,
      async () => {
        const answer = await this.send(loaded, attempt++ % this.services.length, body);
        if (!RETRYABLE.has(answer.status)) settled = answer;
        return settled !== undefined;
      },
      timeoutMs,
    );
    return settled!;
  }

  /** One request for the key to one instance, kept with its answer. */
  async send(loaded: LoadedKey, instance: number, body: unknown = loaded.body): Promise<ChargeAnswer> {
    const response = await charge(this.services[instance]!.baseUrl, loaded.key, body);
    const answer: ChargeAnswer = {
      key: loaded.key,
      instance,
      status: response.status,
      text: response.text,
      headers: response.headers as Record<string, string>,
      answeredAt: Date.now(),
    };
    // An answer to another body (a reuse of the key) is not one of the key's own.
    if (body === loaded.body) loaded.answers.push(answer);
    this.everyAnswer.push(answer);
    return answer;
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
  payment?: { chargeId: string };
  failure?: { code: string; retryable: boolean };
  gatewayStatus?: string;
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
  for (const [index, loaded] of load.keys.entries()) {
    const first = firstSuccess(loaded);
    expect([loaded.key, first?.status]).toEqual([loaded.key, 201]);
    // On another instance than the one that answered first.
    const replay = await load.sendUntilSettled(loaded, first!.instance + 1 + (index % (instances - 1)));
    expect([loaded.key, replay.status, replay.headers['idempotency-cached']]).toEqual([loaded.key, 201, 'true']);
    expect(replay.text).toBe(first!.text);
    const reused = await load.sendUntilSettled(loaded, index, { ...loaded.body, amount: loaded.body.amount + 1 });
    expectProblem(reused, 422, 'IDEMPOTENCY_KEY_REUSED');
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
