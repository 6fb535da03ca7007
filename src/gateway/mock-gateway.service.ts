import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProblemException } from '../common/problem.js';
import { customerAmountOf, type CustomerAmountColumns } from '../common/customer-amount.js';
import { AppConfig } from '../config/index.js';
import { gatewayCalls, type GatewayCallResult } from '../metrics/gateway-calls.channel.js';
import { Database, type Statement } from '../database/database.js';
import { CardDeclinedError, GatewayUnavailableError } from './gateway.errors.js';
import type { GatewayCharge, GatewayChargeRequest } from './gateway-charge.js';
import type { PaymentBehavior } from './payment-behavior.js';
import { PaymentGateway } from './payment-gateway.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';

const CHARGE_COLUMNS = 'id, downstream_key, idempotency_key, order_id, amount, currency, customer_id, status, created_at';

/** The behaviour an admin set and the charge of a downstream key, each if any: what a call needs, in one round trip. */
const BEHAVIOR_AND_CHARGE: Statement = {
  name: 'gateway-behavior-and-charge',
  text: `SELECT b.settings, c.${CHARGE_COLUMNS.replaceAll(', ', ', c.')}
FROM (VALUES (1)) AS one LEFT JOIN gateway.behavior b ON true LEFT JOIN gateway.charges c ON c.downstream_key = $1`,
};
/** "Charge once per key" is the primary key: of two concurrent calls for one key, one inserts. */
const RECORD_CHARGE: Statement = {
  name: 'gateway-record-charge',
  text: `INSERT INTO gateway.charges (${CHARGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (downstream_key) DO NOTHING`,
};
const FIND_CHARGE: Statement = { name: 'gateway-find-charge', text: `SELECT ${CHARGE_COLUMNS} FROM gateway.charges WHERE downstream_key = $1` };
const LIST_CHARGES: Statement = {
  name: 'gateway-list-charges',
  text: `SELECT ${CHARGE_COLUMNS} FROM gateway.charges
WHERE ($1::text IS NULL OR idempotency_key = $1) AND ($2::text IS NULL OR order_id = $2) ORDER BY created_at, id`,
};
const FIND_BEHAVIOR: Statement = { name: 'gateway-find-behavior', text: 'SELECT settings FROM gateway.behavior' };
const SAVE_BEHAVIOR: Statement = {
  name: 'gateway-save-behavior',
  text: 'INSERT INTO gateway.behavior (settings) VALUES ($1) ON CONFLICT (singleton) DO UPDATE SET settings = excluded.settings',
};

interface ChargeRow extends CustomerAmountColumns {
  id: string | null;
  downstream_key: string;
  idempotency_key: string;
  order_id: string;
  status: 'succeeded';
  created_at: Date;
}

/**
 * The mock payment gateway. Like a real one it accepts an idempotency key and returns the original
 * charge for a key it has seen. Its ledger (what it really charged) lives in PostgreSQL, in the
 * schema `gateway` apart from the service's tables, so every instance and every test sees the
 * same ground truth and it outlives the service's Redis. A successful charge is recorded before
 * the latency is waited out, which models the response lost on its way back.
 */
@Injectable()
export class MockGatewayService implements PaymentGateway {
  constructor(
    private readonly database: Database,
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
    const [row] = (await this.database.query<ChargeRow & { settings: Partial<PaymentBehavior> | null }>(BEHAVIOR_AND_CHARGE, [request.downstreamKey])).rows;
    const behavior = this.behaviorOf(row?.settings ?? null);
    const existing = row?.id ? toCharge(row) : undefined;
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
    const { rowCount } = await this.database.query(RECORD_CHARGE, [
      charge.id,
      charge.downstreamKey,
      charge.idempotencyKey,
      charge.orderId,
      charge.amount,
      charge.currency,
      charge.customerId,
      charge.status,
      charge.createdAt,
    ]);
    const recorded = rowCount === 1;
    // Lost a race with a concurrent call for the same key: that call's charge is the one.
    const result = recorded ? charge : (await this.findCharge(request.downstreamKey))!;
    // Only a new charge is announced: a deduplicated call's charge was announced by the call that made it.
    if (recorded) this.webhooks.deliverChargeEvents(charge, behavior);
    await latency;
    return { charge: result, deduplicated: !recorded };
  }

  /** Everything the gateway charged, oldest first, optionally for one client key or order. */
  async listCharges(filter: { idempotencyKey?: string; orderId?: string }): Promise<GatewayCharge[]> {
    const { rows } = await this.database.query<ChargeRow>(LIST_CHARGES, [filter.idempotencyKey ?? null, filter.orderId ?? null]);
    return rows.map(toCharge);
  }

  async getBehavior(): Promise<PaymentBehavior> {
    const [row] = (await this.database.query<{ settings: Partial<PaymentBehavior> }>(FIND_BEHAVIOR, [])).rows;
    return this.behaviorOf(row?.settings ?? null);
  }

  private behaviorOf(settings: Partial<PaymentBehavior> | null): PaymentBehavior {
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
    return { ...defaults, ...settings };
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
    await this.database.query(SAVE_BEHAVIOR, [JSON.stringify(behavior)]);
    return behavior;
  }

  async findCharge(downstreamKey: string): Promise<GatewayCharge | undefined> {
    const [row] = (await this.database.query<ChargeRow>(FIND_CHARGE, [downstreamKey])).rows;
    return row && toCharge(row);
  }
}

function toCharge(row: ChargeRow): GatewayCharge {
  return {
    id: row.id!,
    downstreamKey: row.downstream_key,
    idempotencyKey: row.idempotency_key,
    orderId: row.order_id,
    ...customerAmountOf(row),
    status: row.status,
    createdAt: row.created_at.toISOString(),
  };
}

function randomBetween(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}
