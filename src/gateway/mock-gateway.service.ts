import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromStore } from '../common/store-unavailable.js';
import { ProblemException } from '../common/problem.js';
import { AppConfig } from '../config/index.js';
import { gatewayCalls, type GatewayCallResult } from '../metrics/gateway-calls.channel.js';
import { REDIS_CLIENT, type RedisClient } from '../redis/index.js';
import { CardDeclinedError, GatewayUnavailableError } from './gateway.errors.js';
import type { GatewayCharge, GatewayChargeRequest } from './gateway-charge.js';
import type { PaymentBehavior } from './payment-behavior.js';
import { PaymentGateway } from './payment-gateway.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';

const BEHAVIOR_KEY = 'gateway:behavior';
/** One hash, downstream key → charge: HSETNX makes "charge once per key" a single atomic command. */
const LEDGER_KEY = 'gateway:ledger';

/**
 * The mock payment gateway. Like a real one it accepts an idempotency key and returns the original
 * charge for a key it has seen. Its ledger (what it really charged) lives in Redis so every
 * instance and every test sees the same ground truth. A successful charge is recorded before
 * the latency is waited out, which models the response lost on its way back.
 */
@Injectable()
export class MockGatewayService implements PaymentGateway {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly config: AppConfig,
    private readonly webhooks: WebhookDeliveryService,
  ) {}

  async charge(request: GatewayChargeRequest): Promise<GatewayCharge> {
    const started = performance.now();
    const report = (result: GatewayCallResult) => gatewayCalls.publish({ result, durationMs: performance.now() - started });
    try {
      const { charge, deduplicated } = await this.process(request);
      report(deduplicated ? 'deduplicated' : 'succeeded');
      return charge;
    } catch (error) {
      if (error instanceof CardDeclinedError) report('declined');
      if (error instanceof GatewayUnavailableError) report('unavailable');
      throw error;
    }
  }

  private async process(request: GatewayChargeRequest): Promise<{ charge: GatewayCharge; deduplicated: boolean }> {
    // Independent reads, so one round trip's wait for both.
    const [behavior, existing] = await Promise.all([this.getBehavior(), this.findCharge(request.downstreamKey)]);
    const latency = sleep(randomBetween(behavior.minDelayMs, behavior.maxDelayMs));
    if (existing) {
      await latency;
      return { charge: existing, deduplicated: true };
    }
    await sleep(behavior.preChargeDelayMs);
    const roll = Math.random();
    if (roll < behavior.failureRate) {
      await latency;
      throw new GatewayUnavailableError();
    }
    if (roll < behavior.failureRate + behavior.declineRate) {
      await latency;
      throw new CardDeclinedError();
    }
    const charge: GatewayCharge = {
      id: `ch_${randomUUID().replaceAll('-', '')}`,
      ...request,
      status: 'succeeded',
      createdAt: new Date().toISOString(),
    };
    const recorded = await fromStore(this.redis.hsetnx(LEDGER_KEY, request.downstreamKey, JSON.stringify(charge)));
    // Lost a race with a concurrent call for the same key: that call's charge is the one.
    const result = recorded ? charge : (await this.findCharge(request.downstreamKey))!;
    // Only a new charge is announced: a deduplicated call's charge was announced by the call that made it.
    if (recorded) this.webhooks.deliverChargeEvents(charge, behavior);
    await latency;
    return { charge: result, deduplicated: !recorded };
  }

  /** Everything the gateway charged, oldest first, optionally for one client key or order. */
  async listCharges(filter: { idempotencyKey?: string; orderId?: string }): Promise<GatewayCharge[]> {
    const all = (await fromStore(this.redis.hvals(LEDGER_KEY))).map((raw) => JSON.parse(raw) as GatewayCharge);
    return all
      .filter((charge) => filter.idempotencyKey === undefined || charge.idempotencyKey === filter.idempotencyKey)
      .filter((charge) => filter.orderId === undefined || charge.orderId === filter.orderId)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async getBehavior(): Promise<PaymentBehavior> {
    const raw = await fromStore(this.redis.get(BEHAVIOR_KEY));
    const defaults: PaymentBehavior = {
      failureRate: 0,
      declineRate: 0,
      minDelayMs: this.config.GATEWAY_MIN_DELAY_MS,
      maxDelayMs: this.config.GATEWAY_MAX_DELAY_MS,
      preChargeDelayMs: 0,
      webhookDuplicateRate: 0,
      webhookShuffle: false,
    };
    // A behaviour stored before a field existed takes that field's default.
    return raw ? { ...defaults, ...(JSON.parse(raw) as Partial<PaymentBehavior>) } : defaults;
  }

  async updateBehavior(changes: Partial<PaymentBehavior>): Promise<PaymentBehavior> {
    const behavior = { ...(await this.getBehavior()), ...changes };
    if (behavior.minDelayMs > behavior.maxDelayMs) {
      throw new ProblemException(400, 'VALIDATION_FAILED', 'The request is not valid; see errors.', {
        errors: [{ field: 'minDelayMs', message: 'minDelayMs must not exceed maxDelayMs' }],
      });
    }
    if (behavior.failureRate + behavior.declineRate > 1) {
      throw new ProblemException(400, 'VALIDATION_FAILED', 'The request is not valid; see errors.', {
        errors: [{ field: 'declineRate', message: 'failureRate + declineRate must not exceed 1' }],
      });
    }
    await fromStore(this.redis.set(BEHAVIOR_KEY, JSON.stringify(behavior)));
    return behavior;
  }

  async findCharge(downstreamKey: string): Promise<GatewayCharge | undefined> {
    const raw = await fromStore(this.redis.hget(LEDGER_KEY, downstreamKey));
    return raw ? (JSON.parse(raw) as GatewayCharge) : undefined;
  }
}

function randomBetween(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}
