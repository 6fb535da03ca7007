import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/index.js';
import { eventDuplicatesDropped } from '../metrics/event-duplicates.channel.js';
import { LuaScript, REDIS_CLIENT, type RedisClient } from '../redis/index.js';
import { consumedMarker } from '../outbox/consumed-marker.js';
import { PAYMENTS_STREAM, PROJECTIONS_GROUP, fromStreamFields } from './payment-event.js';
import { ProjectionsRepository } from './projections.repository.js';
import { supportsEvents } from '../outbox/standalone-store.js';

type StreamEntry = [id: string, fields: string[] | null];

const BATCH_SIZE = 100;
const MAX_BLOCK_MS = 1000;
const RETRY_DELAY_MS = 500;
const CONNECT_WAIT_MS = 5000;

/**
 * Removes the group's consumers other than ARGV[2] that have no pending entry and were idle longer
 * than ARGV[3] ms. One script, so no consumer can gain an entry between the check and the removal
 * (removing a consumer drops its pending entries).
 */
const FORGET_CONSUMERS_SCRIPT = new LuaScript<number>(`
local removed = 0
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for index = 1, #consumer, 2 do info[consumer[index]] = consumer[index + 1] end
  if info['name'] ~= ARGV[2] and info['pending'] == 0 and info['idle'] > tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    removed = removed + 1
  end
end
return removed
`);

/**
 * Trims the stream below ARGV[1] (the retention cutoff, an entry id), but never past an entry a
 * consumer group still needs: its oldest pending entry, else the first it has not been delivered.
 * One script, so no group can move between the check and the trim.
 */
const TRIM_STREAM_SCRIPT = new LuaScript<number>(`
local function parse(id)
  local ms, seq = string.match(id, '(%d+)-(%d+)')
  return tonumber(ms), tonumber(seq)
end
local keepMs, keepSeq = parse(ARGV[1])
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for index = 1, #group, 2 do info[group[index]] = group[index + 1] end
  local ms, seq
  if info['pending'] > 0 then
    ms, seq = parse(redis.call('XPENDING', KEYS[1], info['name'])[2])
  else
    ms, seq = parse(info['last-delivered-id'])
    seq = seq + 1
  end
  if ms < keepMs or (ms == keepMs and seq < keepSeq) then keepMs, keepSeq = ms, seq end
end
return redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d-%d', keepMs, keepSeq))
`);

/**
 * Consumes the payment events of the stream in the consumer group `projections` and applies each
 * to the projections once: the effect and the event's consumed marker are one script, and the
 * entry is acknowledged (XACK) only after it. A worker that dies between the two leaves the entry
 * pending; a live worker reclaims it (XAUTOCLAIM) once it has been idle EVENTS_CLAIM_MIN_IDLE_MS,
 * applies it again, finds the marker and only acknowledges it. So the stream delivers at least
 * once and the projections change exactly once.
 */
@Injectable()
export class EventsWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(EventsWorker.name);
  /** One per worker (tests run several apps in one process): a dead worker's entries are reclaimed, never waited for. */
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly stopping = new AbortController();
  private readonly reclaimEveryMs: number;
  private readonly blockMs: number;
  private reader?: Redis;
  private running?: Promise<void>;

  constructor(
    @Inject(REDIS_CLIENT) private readonly store: RedisClient,
    private readonly config: AppConfig,
    private readonly projections: ProjectionsRepository,
  ) {
    this.reclaimEveryMs = Math.max(50, Math.min(config.EVENTS_CLAIM_MIN_IDLE_MS / 2, 10_000));
    // The blocking read returns at least this often, so reclaiming and stopping are never late.
    this.blockMs = Math.min(MAX_BLOCK_MS, this.reclaimEveryMs);
  }

  onApplicationBootstrap(): void {
    if (!supportsEvents(this.store)) {
      this.logger.warn('The store is a Redis Cluster: the events worker does not run (events need a standalone Redis)');
      return;
    }
    // A blocking XREADGROUP holds its connection, so it gets one of its own; its timeout covers the block.
    const reader = this.store.duplicate({ commandTimeout: this.config.REDIS_COMMAND_TIMEOUT_MS + this.blockMs, connectionName: 'payments:events-reader' });
    // The loop reports failures itself, once per outage; without a listener ioredis would print every one.
    reader.on('error', () => undefined);
    reader.connect().catch(() => undefined);
    this.reader = reader;
    this.running = this.run(this.store, reader);
    this.logger.log(`Consuming ${PAYMENTS_STREAM} in group ${PROJECTIONS_GROUP} as ${this.consumer}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    // Interrupts a blocked read; a batch being applied finishes first (the loop checks between batches).
    this.reader?.disconnect();
    await this.running;
  }

  private async run(store: Redis, reader: Redis): Promise<void> {
    // The first read would only fail while the reader is still connecting; a Redis that is down is reported by the loop.
    await once(reader, 'ready', { signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(CONNECT_WAIT_MS)]) }).catch(() => undefined);
    let groupExists = false;
    let lastReclaim = 0;
    let failure: string | undefined;
    while (!this.stopping.signal.aborted) {
      try {
        if (!groupExists) groupExists = await this.createGroup(store);
        if (Date.now() - lastReclaim >= this.reclaimEveryMs) {
          await this.reclaim(store);
          lastReclaim = Date.now();
        }
        await this.handleAll(store, await this.readNew(reader));
        if (failure !== undefined) this.logger.log('The event stream is reachable again');
        failure = undefined;
      } catch (error) {
        if (this.stopping.signal.aborted) break;
        const message = error instanceof Error ? error.message : String(error);
        // The stream and its group are gone after Redis lost its data: create them again.
        if (message.includes('NOGROUP')) groupExists = false;
        if (failure !== message) this.logger.warn(`Consuming events failed (${message}); retrying`);
        failure = message;
        await sleep(RETRY_DELAY_MS, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
  }

  /** From the stream's first entry, not its end: events written before any worker ran are consumed too. */
  private async createGroup(store: Redis): Promise<true> {
    await store.xgroup('CREATE', PAYMENTS_STREAM, PROJECTIONS_GROUP, '0', 'MKSTREAM').catch((error: Error) => {
      if (!error.message.startsWith('BUSYGROUP')) throw error;
    });
    return true;
  }

  private async readNew(reader: Redis): Promise<StreamEntry[]> {
    const reply = (await reader.xreadgroup(
      'GROUP',
      PROJECTIONS_GROUP,
      this.consumer,
      'COUNT',
      BATCH_SIZE,
      'BLOCK',
      this.blockMs,
      'STREAMS',
      PAYMENTS_STREAM,
      '>',
    )) as Array<[stream: string, entries: StreamEntry[]]> | null;
    return reply?.[0]?.[1] ?? [];
  }

  /**
   * Takes over entries another consumer (or this one, before a failure) left pending for too long,
   * then forgets consumers that are gone (each process has its own name, so restarts leave names
   * behind) and trims what every group has acknowledged and the retention no longer keeps.
   */
  private async reclaim(store: Redis): Promise<void> {
    let cursor = '0-0';
    do {
      const [next, entries] = (await store.xautoclaim(
        PAYMENTS_STREAM,
        PROJECTIONS_GROUP,
        this.consumer,
        this.config.EVENTS_CLAIM_MIN_IDLE_MS,
        cursor,
        'COUNT',
        BATCH_SIZE,
      )) as [next: string, entries: StreamEntry[]];
      await this.handleAll(store, entries);
      cursor = next;
    } while (cursor !== '0-0' && !this.stopping.signal.aborted);
    await this.forgetIdleConsumers(store);
    await TRIM_STREAM_SCRIPT.run(store, [PAYMENTS_STREAM], [`${Date.now() - this.config.EVENTS_RETENTION_SECONDS * 1000}-0`]);
  }

  /**
   * Only consumers without pending entries are removed, so nothing is lost. One that is in fact alive
   * but had nothing to read for a while (Redis < 7.2 counts idle time from the last entry read) is
   * simply created again by its next read.
   */
  private async forgetIdleConsumers(store: Redis): Promise<void> {
    await FORGET_CONSUMERS_SCRIPT.run(store, [PAYMENTS_STREAM], [PROJECTIONS_GROUP, this.consumer, this.config.EVENTS_CLAIM_MIN_IDLE_MS]);
  }

  /**
   * A batch at once: the scripts of its events go out together (auto-pipelined) and one XACK
   * acknowledges them all after every effect. Their effects commute (a receipt per order, balance
   * increments), so applying them concurrently changes nothing; a crash before the XACK leaves
   * them all pending, and their markers make the redelivery a no-op.
   */
  private async handleAll(store: Redis, entries: StreamEntry[]): Promise<void> {
    if (entries.length === 0 || this.stopping.signal.aborted) return;
    await Promise.all(entries.map((entry) => this.apply(entry)));
    // Tests widen the window between effect and acknowledgement to kill the worker inside it.
    if (this.config.EVENTS_ACK_DELAY_MS > 0) {
      await sleep(this.config.EVENTS_ACK_DELAY_MS, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
    await store.xack(PAYMENTS_STREAM, PROJECTIONS_GROUP, ...entries.map(([entryId]) => entryId));
  }

  private async apply([entryId, fields]: StreamEntry): Promise<void> {
    const event = fromStreamFields(fields ?? []);
    if (!event) {
      // Redelivering an entry this service cannot read would loop forever: it is reported and acknowledged.
      this.logger.error(`Stream entry ${entryId} is not a payment event; acknowledged without effect`);
      return;
    }
    const marker = consumedMarker(PAYMENTS_STREAM, event.id, this.config.IDEMPOTENCY_RESULT_TTL_SECONDS * 1000);
    const result = await this.projections.apply(event, marker);
    if (result === 'duplicate') eventDuplicatesDropped.publish({ source: 'stream' });
  }
}
