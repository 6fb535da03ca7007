import { Inject, Injectable } from '@nestjs/common';
import { fromStore } from '../common/store-unavailable.js';
import type { ConsumedMarker } from '../outbox/consumed-marker.js';
import { PAYMENTS_STREAM, toStreamFields, type PaymentEvent } from '../events/payment-event.js';
import { supportsEvents } from '../outbox/standalone-store.js';
import { LuaScript, REDIS_CLIENT, type RedisClient } from '../redis/index.js';
import { GATEWAY_STATUS_RANK, type GatewayStatus, type Order, type OrderStatus } from './order.js';

const orderKey = (id: string) => `order:${id}`;
/** The gateway's reported status, apart from the order: a webhook never races a status change's full rewrite of the order. */
const gatewayStatusKey = (id: string) => `order:${id}:gateway`;
const ownerIndexKey = (owner: string) => `orders:by-owner:${owner}`;
/** The owner's Idempotency-Keys (hash fields, never key names) → the order each created. */
const keyIndexKey = (owner: string) => `orders:by-key:${owner}`;
/**
 * The CREATED orders (standalone Redis only), scored by when their current attempt began (ms): the
 * reconciler's candidates, oldest first, without a scan of every order.
 */
const CREATED_INDEX_KEY = 'orders:created';
const reconcileClaimKey = (id: string) => `order:${id}:reconcile`;
/** Index members sort by creation time, then id; the lexicographic order is the listing order. */
const indexMember = (order: Order) => `${Date.parse(order.createdAt).toString().padStart(15, '0')}:${order.id}`;

/**
 * Records a webhook's status once per event id, never backwards, in one atomic step: a consumed
 * event (marker) is a no-op; an unknown order changes nothing and leaves no marker; a status of
 * lower or equal rank than the recorded one is consumed without effect.
 */
const GATEWAY_STATUS_SCRIPT = new LuaScript<GatewayStatusResult>(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 'duplicate' end
if redis.call('EXISTS', KEYS[2]) == 0 then return 'unknown_order' end
local result = 'ignored'
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[3], 'rank') or '0') then
  redis.call('HSET', KEYS[3], 'status', ARGV[1], 'rank', ARGV[2], 'eventId', ARGV[3], 'updatedAt', ARGV[4])
  result = 'applied'
end
redis.call('SET', KEYS[1], ARGV[5], 'PX', ARGV[6])
return result
`);

/**
 * Creates the order unless its key exists, with its index entries (KEYS[2..4]: owner, key, CREATED)
 * when they are given, in one atomic step; else returns the stored order.
 */
const CREATE_SCRIPT = new LuaScript<string | null>(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  if #KEYS > 1 then
    redis.call('ZADD', KEYS[2], 'NX', 0, ARGV[4])
    redis.call('HSETNX', KEYS[3], ARGV[5], ARGV[3])
    redis.call('ZADD', KEYS[4], ARGV[2], ARGV[3])
  end
  return false
end
return redis.call('GET', KEYS[1])
`);

/**
 * A compare-and-set of the order's status: stores the new order only if the stored one's status is
 * one of ARGV[1] (",CREATED,PAYMENT_FAILED,"). Given the other keys (a standalone Redis), in the
 * same atomic step it keeps the CREATED index in step (KEYS[2]), writes the record that goes with
 * the change (KEYS[3] = ARGV[6] unless that is empty; written even when the status has moved on,
 * as it holds the same values then) and appends the change's event (KEYS[4], fields from ARGV[7]).
 * Returns 1 if applied.
 */
const TRANSITION_SCRIPT = new LuaScript<0 | 1>(`
if #KEYS > 1 and ARGV[6] ~= '' then redis.call('SET', KEYS[3], ARGV[6]) end
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
if not string.find(ARGV[1], ',' .. cjson.decode(stored)['status'] .. ',', 1, true) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
if #KEYS > 1 then
  if ARGV[3] == 'CREATED' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5]) else redis.call('ZREM', KEYS[2], ARGV[5]) end
  if #ARGV > 6 then redis.call('XADD', KEYS[4], '*', unpack(ARGV, 7)) end
end
return 1
`);

/** A record stored together with a status change (e.g. the payment of a change to PAID). */
export interface RecordWrite {
  key: string;
  value: string;
}

export type GatewayStatusResult = 'applied' | 'duplicate' | 'ignored' | 'unknown_order';

export interface OrderPage {
  orders: Order[];
  /** Index member of the last order returned, when more may follow. */
  last?: string;
}

/**
 * Orders as JSON in Redis, with no expiry: they are the business record. Each owner has a sorted
 * set index for newest-first listing. Writes are idempotent, so a retry after a crash between
 * them repairs what is missing.
 */
@Injectable()
export class OrdersRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  /**
   * Creates the order unless one with its id exists; returns the order that is stored. On a
   * standalone Redis the order and its index entries are one atomic step. A Cluster refuses one
   * step over keys of several slots: there the owner and key indexes follow the order, repeated by
   * every attempt, so the retry repairs a crash between them.
   */
  async createIfAbsent(order: Order): Promise<Order> {
    const standalone = supportsEvents(this.redis);
    const keys = standalone ? [orderKey(order.id), ownerIndexKey(order.owner), keyIndexKey(order.owner), CREATED_INDEX_KEY] : [orderKey(order.id)];
    const args = [serialize(order), Date.parse(order.updatedAt), order.id, indexMember(order), order.idempotencyKey];
    const existing = await fromStore(CREATE_SCRIPT.run(this.redis, keys, args));
    const stored = existing ? (JSON.parse(existing) as Order) : order;
    if (!standalone) {
      await fromStore(
        Promise.all([
          this.redis.zadd(ownerIndexKey(stored.owner), 'NX', 0, indexMember(stored)),
          this.redis.hsetnx(keyIndexKey(stored.owner), stored.idempotencyKey, stored.id),
        ]),
      );
    }
    return stored;
  }

  async find(id: string): Promise<Order | undefined> {
    const [raw, gatewayStatus] = await fromStore(Promise.all([this.redis.get(orderKey(id)), this.redis.hget(gatewayStatusKey(id), 'status')]));
    if (!raw) return undefined;
    const order = JSON.parse(raw) as Order;
    return gatewayStatus ? { ...order, gatewayStatus: gatewayStatus as GatewayStatus } : order;
  }

  /**
   * Stores the order's new status if its stored status is one of `from` (a compare-and-set: of two
   * writers racing from the same status, one wins), with the record that goes with it and its
   * event in the same atomic step, so no process can die between them. On a Redis Cluster the
   * order, the record and the stream live in different slots, where one step over them is refused;
   * there the record is written first (an order marked PAID always has its payment to show) and
   * the change is stored alone, without index or event (see supportsEvents). Returns whether the
   * change was applied.
   */
  async transition(order: Order, from: OrderStatus[], event?: PaymentEvent, record?: RecordWrite): Promise<boolean> {
    const change = [`,${from.join(',')},`, serialize(order), order.status, Date.parse(order.updatedAt), order.id];
    if (!supportsEvents(this.redis)) {
      if (record) await fromStore(this.redis.set(record.key, record.value));
      return (await fromStore(TRANSITION_SCRIPT.run(this.redis, [orderKey(order.id)], change))) === 1;
    }
    // Without a record KEYS[3] repeats the order's key, unused, so the positions stay fixed.
    const keys = [orderKey(order.id), CREATED_INDEX_KEY, record?.key ?? orderKey(order.id), PAYMENTS_STREAM];
    const args = [...change, record?.value ?? '', ...(event ? toStreamFields(event) : [])];
    return (await fromStore(TRANSITION_SCRIPT.run(this.redis, keys, args))) === 1;
  }

  /** Records the gateway status a webhook reported (see GATEWAY_STATUS_SCRIPT) together with its consumed marker. */
  async recordGatewayStatus(orderId: string, status: GatewayStatus, eventId: string, marker: ConsumedMarker): Promise<GatewayStatusResult> {
    return fromStore(
      GATEWAY_STATUS_SCRIPT.run(
        this.redis,
        [marker.key, orderKey(orderId), gatewayStatusKey(orderId)],
        [status, GATEWAY_STATUS_RANK[status], eventId, new Date().toISOString(), marker.value, marker.ttlMs],
      ),
    );
  }

  async findIdByKey(owner: string, idempotencyKey: string): Promise<string | undefined> {
    return (await fromStore(this.redis.hget(keyIndexKey(owner), idempotencyKey))) ?? undefined;
  }

  /** Ids of CREATED orders whose attempt began at or before `beganBefore` (ms), oldest first, at most `limit`. */
  async createdBefore(beganBefore: number, limit: number): Promise<string[]> {
    return fromStore(this.redis.zrange(CREATED_INDEX_KEY, '-inf', String(beganBefore), 'BYSCORE', 'LIMIT', 0, limit));
  }

  /** When the attempt of the oldest CREATED order began (ms), if there is one. */
  async oldestCreatedAt(): Promise<number | undefined> {
    const [, score] = await fromStore(this.redis.zrange(CREATED_INDEX_KEY, '0', '0', 'WITHSCORES'));
    return score === undefined ? undefined : Number(score);
  }

  /** Drops an id that is no longer CREATED (or gone) from the index. */
  async dropFromCreated(id: string): Promise<void> {
    await fromStore(this.redis.zrem(CREATED_INDEX_KEY, id));
  }

  /** One reconciler at a time per order: true for the instance that takes the claim; it expires by itself. */
  async claimForReconcile(id: string, ttlMs: number): Promise<boolean> {
    return (await fromStore(this.redis.set(reconcileClaimKey(id), '1', 'PX', ttlMs, 'NX'))) === 'OK';
  }

  /** Newest first, `limit` orders older than the `after` member. */
  async listByOwner(owner: string, limit: number, after?: string): Promise<OrderPage> {
    const members = await fromStore(this.redis.zrange(ownerIndexKey(owner), after ? `(${after}` : '+', '-', 'BYLEX', 'REV', 'LIMIT', 0, limit + 1));
    const page = members.slice(0, limit);
    const ids = page.map((member) => member.slice(member.indexOf(':') + 1));
    // One GET per order rather than MGET: order keys live in different Redis Cluster slots.
    const found = await Promise.all(ids.map((id) => this.find(id)));
    const orders = found.filter((order): order is Order => order !== undefined);
    return { orders, last: members.length > limit ? page.at(-1) : undefined };
  }
}

/** The gateway status is kept in its own key and merged in on reading, never stored in the order. */
function serialize({ gatewayStatus: _gatewayStatus, ...order }: Order): string {
  return JSON.stringify(order);
}
