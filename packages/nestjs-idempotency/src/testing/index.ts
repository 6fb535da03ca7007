/**
 * `@idempotent-payments/nestjs-idempotency/testing`: the IdempotencyStore contract as test cases,
 * for any test runner. Each case is `{ name, run }`; `run` rejects (an AssertionError of
 * `node:assert`) when the store breaks the contract. Every store of this package passes it; run it
 * on yours:
 *
 * ```ts
 * for (const c of idempotencyStoreContract(subject)) it(c.name, c.run); // jest, vitest
 * for (const c of idempotencyStoreContract(subject)) test(c.name, c.run); // node:test
 * ```
 *
 * Every case uses record ids of its own, so the cases may share one backend.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdempotencyStoreUnavailableError } from '../idempotency.exceptions.js';
import type { BeginResult, IdempotencyLease, IdempotencyStore, LockOptions, StoredResponse } from '../storage/idempotency-store.interface.js';

/** The store under test: how to make instances of it on one backend, and how to clean up after a case. */
export interface IdempotencyStoreSubject {
  /**
   * A store on the backend under test. The stores of every call share their records and locks, as
   * two instances of an app do; a store that lives in one process may return the same instance.
   */
  createStore(): Promise<IdempotencyStore>;
  /**
   * A store whose server does not answer; then `begin` and `isLocked` must reject with
   * IdempotencyStoreUnavailableError. Without it, that case is left out.
   */
  createUnreachableStore?(): Promise<IdempotencyStore>;
  /** Closes what the case's calls of `createStore` and `createUnreachableStore` opened; runs after every case. */
  cleanup?(): Promise<void>;
}

export interface IdempotencyStoreContractCase {
  name: string;
  run: () => Promise<void>;
}

/** Concurrent `begin`s in a race, spread over two store instances. */
const RACERS = 50;
/** A lock that lasts the whole case without needing its extensions. */
const HELD: LockOptions = { lockTtlMs: 10_000, maxHoldMs: 60_000 };
/**
 * A lock that is never extended (the hold limit comes before the first extension, at a third of
 * the TTL), so it is gone after its TTL; a store whose locks have no TTL frees it at the hold limit.
 */
const EXPIRING: LockOptions = { lockTtlMs: 300, maxHoldMs: 50 };
/** A lock that outlives its TTL only by its lease's extensions. */
const RENEWED: LockOptions = { lockTtlMs: 600, maxHoldMs: 60_000 };
const TTL_MS = 60_000;
/** Past setTimeout's largest delay (2^31 - 1 ms, 24.8 days), which Node replaces by 1 ms. */
const THIRTY_DAYS_MS = 30 * 24 * 60 * 60 * 1000;

/** Every byte value, as a binary body carries it (base64). */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte)).toString('base64');

/** Outcomes a store must give back exactly: JSON with line breaks and any Unicode, binary, empty, sealed. */
const RESPONSES: StoredResponse[] = [
  {
    fingerprint: 'sha256:3f1c0b',
    status: 201,
    headers: { 'content-type': 'application/json; charset=utf-8', location: '/payments/pay_1', 'x-note': 'Zahlung ü "quoted" \\ 💳' },
    body: '{"id":"pay_1","memo":"line\\nbreak"}\n["second line"]\r\n\t é e\u0301 🔑 \u2028',
  },
  { fingerprint: 'sha256:binary', status: 200, headers: { 'content-type': 'application/octet-stream' }, body: ALL_BYTES, binary: true },
  { fingerprint: '', status: 204, headers: {}, body: '' },
  { fingerprint: 'sha256:sealed', status: 402, headers: {}, body: ALL_BYTES, sealedBy: 'key-2026-01' },
];
const RESPONSE = RESPONSES[0]!;
const STALE_RESPONSE: StoredResponse = { ...RESPONSE, status: 500, body: 'from the stale owner' };

/** One case's record ids and stores; it settles every lease it saw acquired, whatever the outcome. */
class CaseScope {
  private readonly prefix = `contract:${randomUUID()}:`;
  private readonly leases: IdempotencyLease[] = [];

  constructor(private readonly subject: IdempotencyStoreSubject) {}

  recordId(name = 'record'): string {
    return this.prefix + name;
  }

  /** A store instance whose acquired leases this scope releases at the end (a settled lease ignores it). */
  async store(): Promise<IdempotencyStore> {
    const store = await this.subject.createStore();
    return {
      begin: async (recordId, lock) => {
        const result = await store.begin(recordId, lock);
        if (result.state === 'acquired') this.leases.push(result.lease);
        return result;
      },
      isLocked: (recordId) => store.isLocked(recordId),
    };
  }

  async end(): Promise<void> {
    await Promise.allSettled(this.leases.map((lease) => lease.release()));
    await this.subject.cleanup?.();
  }
}

/**
 * The IdempotencyStore contract as runner-agnostic cases: a case creates the stores it needs with
 * `subject.createStore()` (two of them where two app instances matter) and runs `subject.cleanup()`
 * when it ends.
 */
export function idempotencyStoreContract(subject: IdempotencyStoreSubject): IdempotencyStoreContractCase[] {
  const cases: IdempotencyStoreContractCase[] = [];
  const contractCase = (name: string, body: (scope: CaseScope) => Promise<void>) => {
    cases.push({
      name,
      run: async () => {
        const scope = new CaseScope(subject);
        try {
          await body(scope);
        } finally {
          await scope.end();
        }
      },
    });
  };

  // Mutual exclusion: many simultaneous first requests from two app instances, one execution.
  contractCase(`exactly one of ${RACERS} concurrent begins on a free record, from two store instances, acquires; the others see in_progress`, async (scope) => {
    const stores = [await scope.store(), await scope.store()];
    expectOneWinner(await race(stores, scope.recordId(), HELD), 'begins on a free record');
  });

  // Replay: what the winner stored comes back exactly, to every caller on every instance.
  contractCase('after complete, every begin from either instance returns the stored response byte-identical', async (scope) => {
    const stores = [await scope.store(), await scope.store()];
    for (const [index, response] of RESPONSES.entries()) {
      const recordId = scope.recordId(`response-${index}`);
      const lease = await acquire(stores[0]!, recordId, HELD);
      assert.equal(await lease.complete(response, TTL_MS), true, `complete of response #${index} by its lock's holder`);
      for (const result of await race(stores, recordId, HELD)) {
        assert.deepEqual(storedOf(result, `begin after response #${index} was stored`), response, `response #${index} as stored`);
      }
      assert.equal(await stores[1]!.isLocked(recordId), false, `isLocked once response #${index} was stored`);
    }
  });

  // Fencing: an owner whose lock expired and was taken over cannot store over the new owner's execution or outcome.
  contractCase(
    "a stale owner's complete returns false and stores nothing once another owner took its expired lock over, while that one holds it or after it completed",
    async (scope) => {
      const [first, second] = [await scope.store(), await scope.store()];
      const heldId = scope.recordId('held');
      const stale = await acquire(first, heldId, EXPIRING);
      const current = await takeOver(second, heldId);
      assert.equal(await stale.complete(STALE_RESPONSE, TTL_MS), false, "the stale owner's complete while the new owner holds the lock");
      assert.equal(await second.isLocked(heldId), true, "isLocked after the stale owner's complete");
      assert.equal((await first.begin(heldId, HELD)).state, 'in_progress', "begin after the stale owner's complete");
      assert.equal(await current.complete(RESPONSE, TTL_MS), true, "the new owner's complete");
      assert.deepEqual(storedOf(await first.begin(heldId, HELD), "begin after the new owner's complete"), RESPONSE);

      const completedId = scope.recordId('completed');
      const staleAfterCompletion = await acquire(first, completedId, EXPIRING);
      assert.equal(await (await takeOver(second, completedId)).complete(RESPONSE, TTL_MS), true, "the new owner's complete");
      assert.equal(await staleAfterCompletion.complete(STALE_RESPONSE, TTL_MS), false, "the stale owner's complete after the new owner's");
      assert.deepEqual(storedOf(await first.begin(completedId, HELD), "begin after the stale owner's complete"), RESPONSE);
    },
  );

  // Fencing: an owner whose lock expired and was taken over cannot free the new owner's key.
  contractCase("a stale owner's release leaves the lock of the owner that took its expired lock over", async (scope) => {
    const [first, second] = [await scope.store(), await scope.store()];
    const recordId = scope.recordId();
    const stale = await acquire(first, recordId, EXPIRING);
    await takeOver(second, recordId);
    await stale.release();
    assert.equal(await second.isLocked(recordId), true, "isLocked after the stale owner's release");
    assert.equal((await first.begin(recordId, HELD)).state, 'in_progress', "begin after the stale owner's release");
  });

  // Mutual exclusion after a crash: retries racing for an expired lock, one execution.
  contractCase(`exactly one of ${RACERS} concurrent begins after a lock expired, from two store instances, takes it`, async (scope) => {
    const stores = [await scope.store(), await scope.store()];
    const recordId = scope.recordId();
    await acquire(stores[0]!, recordId, EXPIRING);
    await until('the lock expires', async () => !(await stores[1]!.isLocked(recordId)));
    expectOneWinner(await race(stores, recordId, HELD), 'begins after the lock expired');
  });

  // A lease settles once: a completed record is never released, and a released lease stores nothing.
  contractCase('release after complete leaves the record stored; complete after complete or after release stores nothing', async (scope) => {
    const [first, second] = [await scope.store(), await scope.store()];
    const completedId = scope.recordId('completed');
    const completed = await acquire(first, completedId, HELD);
    assert.equal(await completed.complete(RESPONSE, TTL_MS), true, 'the first complete');
    await completed.release();
    assert.equal(await completed.complete(STALE_RESPONSE, TTL_MS), false, 'a second complete');
    assert.deepEqual(storedOf(await second.begin(completedId, HELD), 'begin after complete, release and complete'), RESPONSE);

    const releasedId = scope.recordId('released');
    const released = await acquire(first, releasedId, HELD);
    await released.release();
    assert.equal(await released.complete(RESPONSE, TTL_MS), false, 'complete after release');
    assert.equal((await second.begin(releasedId, HELD)).state, 'acquired', 'begin after release and complete: nothing stored, the key free');
  });

  // Renewal: a long operation keeps its key past the lock TTL, until it settles.
  contractCase(
    'a held lease keeps its lock past several lock TTLs (another instance sees it locked and in_progress); isLocked is false after release',
    async (scope) => {
      const [first, second] = [await scope.store(), await scope.store()];
      const recordId = scope.recordId();
      const lease = await acquire(first, recordId, RENEWED);
      const observedUntil = Date.now() + 4 * RENEWED.lockTtlMs;
      while (Date.now() < observedUntil) {
        assert.equal(await second.isLocked(recordId), true, 'isLocked while the lease is held');
        assert.equal((await second.begin(recordId, HELD)).state, 'in_progress', 'begin while the lease is held');
        assert.equal(lease.lost.aborted, false, "the lease's lost signal while it is held");
        // The condition is time passing with the lock held: it is looked at every sixth of its TTL.
        await sleep(RENEWED.lockTtlMs / 6);
      }
      await lease.release();
      assert.equal(await second.isLocked(recordId), false, 'isLocked after release');
      assert.equal((await second.begin(recordId, HELD)).state, 'acquired', 'begin after release');
    },
  );

  // Durations past a 32-bit timer: a lock and a record of 30 days stay, rather than expiring at once.
  contractCase('a lock TTL, hold limit and record TTL of 30 days (past 2^31 ms) are kept', async (scope) => {
    const [first, second] = [await scope.store(), await scope.store()];
    const locks: LockOptions[] = [
      { lockTtlMs: THIRTY_DAYS_MS, maxHoldMs: THIRTY_DAYS_MS },
      { lockTtlMs: THIRTY_DAYS_MS, maxHoldMs: HELD.maxHoldMs },
    ];
    for (const [index, lock] of locks.entries()) {
      const recordId = scope.recordId(`lock-${index}`);
      const lease = await acquire(first, recordId, lock);
      await pastOverflowedTimers();
      assert.equal(lease.lost.aborted, false, `the lost signal of a lease with ${JSON.stringify(lock)}`);
      assert.equal(await second.isLocked(recordId), true, `isLocked of a lock with ${JSON.stringify(lock)}`);
      assert.equal(await lease.complete(RESPONSE, THIRTY_DAYS_MS), true, 'complete with a 30-day TTL');
      await pastOverflowedTimers();
      assert.deepEqual(storedOf(await second.begin(recordId, HELD), 'begin of a record stored for 30 days'), RESPONSE);
    }
  });

  // Record ids are compared exactly: ids that look alike or share a long prefix never share a record.
  contractCase(
    'record ids of several hundred characters in any Unicode, differing in case, normalization or an emoji, each have their own lock and record',
    async (scope) => {
      const [first, second] = [await scope.store(), await scope.store()];
      const long = 'Zahlung-支払い-платёж-دفع-पैसा-💳-'.repeat(16);
      const endings = ['', 'k', 'K', 'k ', ' k', '\u00e9', 'e\u0301', '🔑', '🗝️', '👩', '👩‍💻', 'ﬁ', 'fi', '{k}', '}', 'k:lock', 'k:response'];
      const recordIds = endings.map((ending) => scope.recordId(long + ending));
      const leases: IdempotencyLease[] = [];
      // Every lock held at once: each id has its own.
      for (const [index, recordId] of recordIds.entries()) leases.push(await acquire(first, recordId, HELD, `begin of record id #${index}`));
      for (const [index, lease] of leases.entries()) {
        assert.equal(await lease.complete({ ...RESPONSE, body: `record #${index}` }, TTL_MS), true, `complete of record id #${index}`);
      }
      for (const [index, recordId] of recordIds.entries()) {
        const stored = storedOf(await second.begin(recordId, HELD), `begin of record id #${index}`);
        assert.equal(stored.body, `record #${index}`, `the record of id #${index} (ending ${JSON.stringify(endings[index])})`);
      }
    },
  );

  if (subject.createUnreachableStore) {
    // Fail closed: with its server away, a store rejects as unavailable rather than answering.
    contractCase('with its server unreachable, begin and isLocked reject with IdempotencyStoreUnavailableError', async (scope) => {
      const store = await subject.createUnreachableStore!();
      await assert.rejects(store.begin(scope.recordId(), HELD), IdempotencyStoreUnavailableError, 'begin');
      await assert.rejects(store.isLocked(scope.recordId()), IdempotencyStoreUnavailableError, 'isLocked');
    });
  }

  return cases;
}

/** `RACERS` begins on one record at once, alternating between the stores. */
function race(stores: IdempotencyStore[], recordId: string, lock: LockOptions): Promise<BeginResult[]> {
  return Promise.all(Array.from({ length: RACERS }, (_, index) => stores[index % stores.length]!.begin(recordId, lock)));
}

function expectOneWinner(results: BeginResult[], what: string): void {
  const states = results.map((result) => result.state);
  assert.equal(states.filter((state) => state === 'acquired').length, 1, `${what}: how many acquired`);
  assert.equal(states.filter((state) => state === 'in_progress').length, results.length - 1, `${what}: how many saw in_progress`);
}

async function acquire(store: IdempotencyStore, recordId: string, lock: LockOptions, what = 'begin of a free record'): Promise<IdempotencyLease> {
  const result = await store.begin(recordId, lock);
  if (result.state !== 'acquired') assert.fail(`${what}: expected acquired, got ${result.state}`);
  return result.lease;
}

function storedOf(result: BeginResult, what: string): StoredResponse {
  if (result.state !== 'stored') assert.fail(`${what}: expected stored, got ${result.state}`);
  return result.stored;
}

/** Once the expiring lock on the record is gone, another owner's lease on it. */
async function takeOver(store: IdempotencyStore, recordId: string): Promise<IdempotencyLease> {
  let lease: IdempotencyLease | undefined;
  await until('another begin acquires the expired lock', async () => {
    const result = await store.begin(recordId, HELD);
    if (result.state === 'stored') assert.fail('begin while the first owner held or lost its lock: expected in_progress or acquired, got stored');
    lease = result.state === 'acquired' ? result.lease : undefined;
    return lease !== undefined;
  });
  return lease!;
}

/** Polls the condition until it holds; fails with its description after `timeoutMs`. */
async function until(description: string, condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting until ${description}`);
    await sleep(10);
  }
}

/**
 * Node runs a timer of more than 2^31 - 1 ms after 1 ms instead. Such a timer firing too early is
 * what the long-TTL case looks for, and nothing shows that it has not fired but time passing.
 */
function pastOverflowedTimers(): Promise<void> {
  return sleep(50);
}
