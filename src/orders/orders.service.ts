import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { ProblemException } from '../common/problem.js';
import type { ConsumedMarker } from '../events/consumed-marker.js';
import { newPaymentEvent, type PaymentEventData } from '../events/payment-event.js';
import type { IdempotencyContext } from '@idempotent-payments/nestjs-idempotency';
import type { GatewayStatus, Order, OrderFailure, OrderPayment } from './order.js';
import { OrdersRepository, type GatewayStatusResult } from './orders.repository.js';

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

/**
 * Orders and their lifecycle CREATED → PAID | PAYMENT_FAILED. An order's id is derived from the
 * idempotency record it was created for, so every attempt with one key, on any instance and after
 * any crash, finds the same order instead of creating another. Each change to PAID or
 * PAYMENT_FAILED is stored with its payment event (payment.succeeded / payment.failed).
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
      ...details,
      status: 'CREATED',
      createdAt: now,
      updatedAt: now,
    });
    // Reached only after the stored outcome expired: the order outlives it and still guards the key.
    if (order.requestFingerprint !== idempotency.fingerprint) {
      throw new ProblemException(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key already created an order with a different request body.');
    }
    return order;
  }

  async markPaid(order: Order, payment: OrderPayment): Promise<Order> {
    const { failure: _previousFailure, ...rest } = order;
    const paid: Order = { ...rest, status: 'PAID', payment, updatedAt: new Date().toISOString() };
    const event = newPaymentEvent('payment.succeeded', paid.updatedAt, { ...eventDataOf(paid), chargeId: payment.chargeId });
    await this.repository.saveWithEvent(paid, event);
    return paid;
  }

  async markFailed(order: Order, failure: OrderFailure): Promise<Order> {
    const failed: Order = { ...order, status: 'PAYMENT_FAILED', failure, updatedAt: failure.failedAt };
    const event = newPaymentEvent('payment.failed', failed.updatedAt, { ...eventDataOf(failed), failureCode: failure.code });
    await this.repository.saveWithEvent(failed, event);
    return failed;
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

  async list(owner: string, limit: number, cursor?: string): Promise<OrdersPage> {
    const page = await this.repository.listByOwner(owner, limit, cursor === undefined ? undefined : decodeCursor(cursor));
    return { orders: page.orders, nextCursor: page.last === undefined ? null : encodeCursor(page.last) };
  }
}

function eventDataOf(order: Order): PaymentEventData {
  return { orderId: order.id, owner: order.owner, customerId: order.customerId, amount: order.amount, currency: order.currency };
}

export function orderIdFor(recordId: string): string {
  return `ord_${createHash('sha256').update(`order:${recordId}`).digest('hex').slice(0, 24)}`;
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
