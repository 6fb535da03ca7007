import { Injectable } from '@nestjs/common';
import { hash } from 'node:crypto';
import { ProblemException } from '../common/problem.js';
import type { ConsumedMarker } from '../outbox/consumed-marker.js';
import { newPaymentEvent, type PaymentEventData } from '../events/payment-event.js';
import type { IdempotencyContext } from '@idempotent-payments/nestjs-idempotency';
import type { GatewayStatus, Order, OrderFailure, OrderPayment, OrderStatus } from './order.js';
import { OrdersRepository, type GatewayStatusResult, type RecordWrite } from './orders.repository.js';

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
   * whether this call did it (false: someone else finished the order first). `record` (the
   * payment) is stored in the same step, whether or not the status changes.
   */
  markPaid(order: Order, payment: OrderPayment, record: RecordWrite, from: OrderStatus[] = OPEN): Promise<boolean> {
    const { failure: _previousFailure, ...rest } = order;
    const paid: Order = { ...rest, status: 'PAID', payment, updatedAt: new Date().toISOString() };
    const event = newPaymentEvent('payment.succeeded', paid.updatedAt, { ...eventDataOf(paid), chargeId: payment.chargeId });
    return this.repository.transition(paid, from, event, record);
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
  recordGatewayStatus(orderId: string, status: GatewayStatus, eventId: string, marker: ConsumedMarker): Promise<GatewayStatusResult> {
    return this.repository.recordGatewayStatus(orderId, status, eventId, marker);
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
   * CREATED orders whose attempt began at or before `beganBefore` (ms), oldest first, at most
   * `limit`. Index entries of orders that have moved on (a writer died between its change and the
   * index's) are dropped on the way.
   */
  async createdBefore(beganBefore: number, limit: number): Promise<Order[]> {
    const ids = await this.repository.createdBefore(beganBefore, limit);
    const found = await Promise.all(ids.map((id) => this.repository.find(id)));
    const stale = ids.filter((_id, index) => found[index]?.status !== 'CREATED');
    await Promise.all(stale.map((id) => this.repository.dropFromCreated(id)));
    return found.filter((order): order is Order => order?.status === 'CREATED');
  }

  /** When the attempt of the oldest CREATED order began (ms), if there is one. */
  oldestCreatedAt(): Promise<number | undefined> {
    return this.repository.oldestCreatedAt();
  }

  /** One reconciler per order at a time: true for the caller that takes the claim, which expires after `ttlMs`. */
  claimForReconcile(id: string, ttlMs: number): Promise<boolean> {
    return this.repository.claimForReconcile(id, ttlMs);
  }

  /** The order the owner's Idempotency-Key created, if any; another owner's key finds nothing. */
  async findByIdempotencyKey(owner: string, idempotencyKey: string): Promise<Order | undefined> {
    const id = await this.repository.findIdByKey(owner, idempotencyKey);
    const order = id === undefined ? undefined : await this.repository.find(id);
    return order?.owner === owner ? order : undefined;
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

const CURSOR_MEMBER = /^\d{15}:ord_[0-9a-f]{24}$/;

function encodeCursor(member: string): string {
  return Buffer.from(member).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const member = Buffer.from(cursor, 'base64url').toString();
  if (!CURSOR_MEMBER.test(member)) {
    throw new ProblemException(400, 'INVALID_CURSOR', 'The cursor is not one this service returned.');
  }
  return member;
}
