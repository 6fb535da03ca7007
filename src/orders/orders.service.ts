import { Injectable } from '@nestjs/common';
import { hash } from 'node:crypto';
import { ProblemException } from '../common/problem.js';
import { newPaymentEvent, type PaymentEventData } from '../events/payment-event.js';
import type { StoredPayment } from '../payments/payment.js';
import type { IdempotencyContext } from '@idempotent-payments/nestjs-idempotency';
import type { GatewayStatus, Order, OrderFailure, OrderPayment, OrderStatus } from './order.js';
import { OrdersRepository, type GatewayStatusResult, type OrderPosition } from './orders.repository.js';

export interface NewOrder {
  amount: number;
  currency: string;
  customerId: string;
  description?: string;
  metadata?: Record<string, string>;
}

export interface OrdersPage {
  orders: Order[];
  nextCursor: string | null;
}

/** A live attempt may finish an order that was still open, or resume one whose failure was retryable. */
const OPEN: OrderStatus[] = ['CREATED', 'PAYMENT_FAILED'];

/**
 * Orders and their lifecycle CREATED → PAID | PAYMENT_FAILED (and back to CREATED when a retry
 * resumes a retryable failure). An order's id is derived from the idempotency record it was
 * created for, so every attempt with one key, on any instance and after any crash, finds the same
 * order instead of creating another. Each change to PAID or PAYMENT_FAILED is stored with its
 * payment event (payment.succeeded / payment.failed), and only from the statuses the caller
 * expects (a compare-and-set), so a live attempt and the reconciler never both apply one.
 */
@Injectable()
export class OrdersService {
  constructor(private readonly repository: OrdersRepository) {}

  /** The order of this idempotent request: created on the first attempt, resumed on later ones. */
  async openForRequest(idempotency: IdempotencyContext, details: NewOrder): Promise<Order> {
    const now = new Date().toISOString();
    const order = await this.repository.createIfAbsent({
      id: orderIdFor(idempotency.recordId),
      owner: idempotency.principal,
      idempotencyKey: idempotency.key,
      requestFingerprint: idempotency.fingerprint,
      idempotencyRecordId: idempotency.recordId,
      ...details,
      status: 'CREATED',
      createdAt: now,
      updatedAt: now,
    });
    // Reached only after the stored outcome expired: the order outlives it and still guards the key.
    if (order.requestFingerprint !== idempotency.fingerprint) {
      throw new ProblemException(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key already created an order with a different request body.');
    }
    return order.status === 'PAYMENT_FAILED' && order.failure?.retryable ? this.reopen(order) : order;
  }

  /**
   * Marks the order PAID with its payment.succeeded event if its status is one of `from`; returns
   * whether this call did it (false: someone else finished the order first). The payment is stored
   * in the same transaction, whether or not the status changes.
   */
  markPaid(order: Order, payment: StoredPayment, from: OrderStatus[] = OPEN): Promise<boolean> {
    const { failure: _previousFailure, ...rest } = order;
    const orderPayment: OrderPayment = { chargeId: payment.id, status: 'succeeded', chargedAt: payment.createdAt };
    const paid: Order = { ...rest, status: 'PAID', payment: orderPayment, updatedAt: new Date().toISOString() };
    const event = newPaymentEvent('payment.succeeded', paid.updatedAt, { ...eventDataOf(paid), chargeId: payment.id });
    return this.repository.transition(paid, from, event, payment);
  }

  /** Marks the order PAYMENT_FAILED with its payment.failed event if its status is one of `from`; returns whether this call did it. */
  markFailed(order: Order, failure: OrderFailure, from: OrderStatus[] = OPEN): Promise<boolean> {
    const failed: Order = { ...order, status: 'PAYMENT_FAILED', failure, updatedAt: failure.failedAt };
    const event = newPaymentEvent('payment.failed', failed.updatedAt, { ...eventDataOf(failed), failureCode: failure.code });
    return this.repository.transition(failed, from, event);
  }

  /**
   * A retry of a retryable failure opens the order again (CREATED, no event), so that an attempt
   * that dies from here on is found by the reconciler like a first one.
   */
  private async reopen(order: Order): Promise<Order> {
    const { failure: _failure, ...rest } = order;
    const reopened: Order = { ...rest, status: 'CREATED', updatedAt: new Date().toISOString() };
    await this.repository.transition(reopened, ['PAYMENT_FAILED']);
    return reopened;
  }

  /** Applies a gateway webhook's status to its order: once per event id, never backwards. */
  recordGatewayStatus(orderId: string, status: GatewayStatus, eventId: string, eventType: string): Promise<GatewayStatusResult> {
    return this.repository.recordGatewayStatus(orderId, status, eventId, eventType);
  }

  /** The owner's order; another owner's id is reported as unknown, never as forbidden. */
  async get(owner: string, id: string): Promise<Order> {
    const order = await this.repository.find(id);
    if (!order || order.owner !== owner) {
      throw new ProblemException(404, 'ORDER_NOT_FOUND', 'No order with this id.');
    }
    return order;
  }

  /**
   * Claims, for `claimMs`, up to `limit` CREATED orders whose attempt began at or before
   * `beganBefore` and that no other reconciler holds, oldest first.
   */
  claimOpen(beganBefore: Date, limit: number, claimMs: number): Promise<Order[]> {
    return this.repository.claimOpen(beganBefore, limit, claimMs);
  }

  /** Gives claimed orders back to the next sweep. */
  unclaim(ids: string[]): Promise<void> {
    return this.repository.unclaim(ids);
  }

  /** When the attempt of the oldest CREATED order began (ms), if there is one. */
  oldestOpenBeganAt(): Promise<number | undefined> {
    return this.repository.oldestOpenBeganAt();
  }

  /** The order the owner's Idempotency-Key created, if any; another owner's key finds nothing. */
  findByIdempotencyKey(owner: string, idempotencyKey: string): Promise<Order | undefined> {
    return this.repository.findByKey(owner, idempotencyKey);
  }

  async list(owner: string, limit: number, cursor?: string): Promise<OrdersPage> {
    const page = await this.repository.listByOwner(owner, limit, cursor === undefined ? undefined : decodeCursor(cursor));
    return { orders: page.orders, nextCursor: page.last === undefined ? null : encodeCursor(page.last) };
  }
}

function eventDataOf(order: Order): PaymentEventData {
  return { orderId: order.id, owner: order.owner, customerId: order.customerId, amount: order.amount, currency: order.currency };
}

export function orderIdFor(recordId: string): string {
  return `ord_${hash('sha256', `order:${recordId}`).slice(0, 24)}`;
}

/** A cursor is the last order's creation time (ms) and id, base64url: opaque to clients, checked on the way in. */
const CURSOR = /^(\d{1,15}):(ord_[0-9a-f]{24})$/;

function encodeCursor(position: OrderPosition): string {
  return Buffer.from(`${Date.parse(position.createdAt)}:${position.id}`).toString('base64url');
}

function decodeCursor(cursor: string): OrderPosition {
  const [, createdAtMs, id] = CURSOR.exec(Buffer.from(cursor, 'base64url').toString()) ?? [];
  const createdAt = createdAtMs === undefined ? undefined : new Date(Number(createdAtMs));
  if (!createdAt || Number.isNaN(createdAt.getTime()) || !id) {
    throw new ProblemException(400, 'INVALID_CURSOR', 'The cursor is not one this service returned.');
  }
  return { createdAt: createdAt.toISOString(), id };
}
