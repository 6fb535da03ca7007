import { Injectable } from '@nestjs/common';
import { ProblemException } from '../common/problem.js';
import { storeUnavailable } from '../common/store-unavailable.js';
import type { IdempotencyContext } from '@idempotent-payments/nestjs-idempotency';
import type { Order, OrderStatus } from '../orders/order.js';
import { OrdersService } from '../orders/orders.service.js';
import type { GatewayCharge } from '../gateway/gateway-charge.js';
import { CardDeclinedError, GatewayUnavailableError } from '../gateway/gateway.errors.js';
import { PaymentGateway } from '../gateway/payment-gateway.js';
import type { ChargeRequestDto } from './dto/charge-request.dto.js';
import type { Payment, StoredPayment } from './payment.js';
import { PaymentsRepository } from './payments.repository.js';

/**
 * Charges an order through the gateway. Every step can be repeated: the order is found again by
 * its idempotency record, the gateway call carries the order id as its idempotency key, and the
 * writes after it overwrite with the same values. So an attempt that died anywhere is finished
 * by the next attempt with the same key, with one charge.
 */
@Injectable()
export class PaymentsService {
  constructor(
    private readonly orders: OrdersService,
    private readonly gateway: PaymentGateway,
    private readonly payments: PaymentsRepository,
  ) {}

  async charge(idempotency: IdempotencyContext, request: ChargeRequestDto): Promise<Payment> {
    const order = await this.orders.openForRequest(idempotency, request);
    if (order.status === 'PAID') return this.get(order.owner, order.payment!.chargeId);
    if (order.failure && !order.failure.retryable) throw declined();
    if (idempotency.lockLost?.aborted) {
      throw storeUnavailable('The idempotency lock could not be kept; nothing was charged. Retry later with the same key.');
    }
    try {
      const charge = await this.gateway.charge({
        downstreamKey: order.id,
        idempotencyKey: idempotency.key,
        orderId: order.id,
        amount: order.amount,
        currency: order.currency,
        customerId: order.customerId,
      });
      const { payment } = await this.recordCharge(order, charge);
      return toPaymentView(payment);
    } catch (error) {
      throw await this.recordFailure(order, error);
    }
  }

  /**
   * Records what the gateway charged for the order, in one step: its payment, and the order PAID
   * with its payment.succeeded event if the order's status is one of `from`. Returns the payment and whether
   * this call marked the order (false: another writer did, with the same charge, since the gateway
   * charges once per downstream key).
   */
  async recordCharge(order: Order, charge: GatewayCharge, from?: OrderStatus[]): Promise<{ payment: StoredPayment; marked: boolean }> {
    const payment: StoredPayment = {
      id: charge.id,
      orderId: order.id,
      amount: charge.amount,
      currency: charge.currency,
      customerId: charge.customerId,
      status: 'succeeded',
      createdAt: charge.createdAt,
      owner: order.owner,
    };
    // One transaction with the order's change: an order marked PAID always has its payment to show.
    const marked = await this.orders.markPaid(order, payment, from);
    return { payment, marked };
  }

  async get(owner: string, id: string): Promise<Payment> {
    const payment = await this.payments.find(id);
    if (!payment || payment.owner !== owner) throw new ProblemException(404, 'PAYMENT_NOT_FOUND', 'No payment with this id.');
    return toPaymentView(payment);
  }

  /** Records a gateway refusal on the order and returns the problem to answer; other errors pass through. */
  private async recordFailure(order: Order, error: unknown): Promise<unknown> {
    const failedAt = new Date().toISOString();
    if (error instanceof CardDeclinedError) {
      await this.orders.markFailed(order, { code: 'CARD_DECLINED', detail: error.message, retryable: false, failedAt });
      return declined();
    }
    if (error instanceof GatewayUnavailableError) {
      await this.orders.markFailed(order, { code: 'PAYMENT_PROVIDER_UNAVAILABLE', detail: error.message, retryable: true, failedAt });
      return new ProblemException(
        502,
        'PAYMENT_PROVIDER_UNAVAILABLE',
        'The payment gateway is unavailable; nothing was charged. Retry later with the same key.',
      );
    }
    return error;
  }
}

function declined(): ProblemException {
  return new ProblemException(402, 'CARD_DECLINED', 'The card was declined by its issuer.');
}

function toPaymentView({ owner: _owner, ...payment }: StoredPayment): Payment {
  return payment;
}
