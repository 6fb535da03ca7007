import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { RepeatingJob } from '../common/repeating-job.js';
import { AppConfig } from '../config/index.js';
import { IdempotencyService } from '@idempotent-payments/nestjs-idempotency';
import { openOrdersObserved, ordersReconciled, type ReconcileResult } from '../metrics/reconciler.channel.js';
import type { Order } from '../orders/order.js';
import { OrdersService } from '../orders/orders.service.js';
import { PaymentGateway } from '../gateway/payment-gateway.js';
import { PaymentsService } from './payments.service.js';

/**
 * Settles attempts nobody finished. Every RECONCILE_INTERVAL_MS it claims the oldest orders still
 * CREATED RECONCILE_AFTER_SECONDS after their attempt began (at most RECONCILE_BATCH_SIZE, with
 * FOR UPDATE SKIP LOCKED from the index of open orders), gives back those whose idempotency lock
 * someone holds (a live execution), and asks the gateway by the order's downstream key: a charge
 * there is recorded exactly as the request would have (payment, PAID, payment.succeeded); none
 * marks the order PAYMENT_FAILED with the retryable code ABANDONED, so a retry with the key
 * resumes it. It never charges.
 *
 * Several workers may sweep at once: the claim keeps the gateway look-ups to one per order, and
 * both changes are compare-and-sets from CREATED, so a live retry, a second reconciler or a
 * reconciler whose claim expired can never apply one twice.
 */
@Injectable()
export class PaymentsReconciler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PaymentsReconciler.name);
  private readonly job: RepeatingJob;

  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly config: AppConfig,
    private readonly orders: OrdersService,
    private readonly payments: PaymentsService,
    private readonly gateway: PaymentGateway,
  ) {
    const sweep = async () => {
      await this.sweep();
      return config.RECONCILE_INTERVAL_MS;
    };
    this.job = new RepeatingJob(this.logger, 'Reconciling orders', sweep, config.RECONCILE_INTERVAL_MS);
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job.stop();
  }

  private async sweep(): Promise<void> {
    const reconcileAfterMs = this.config.RECONCILE_AFTER_SECONDS * 1000;
    // Claimed for the reconcile age: a reconciler that dies with its claims leaves the orders to a sweep after it.
    const due = await this.orders.claimOpen(new Date(Date.now() - reconcileAfterMs), this.config.RECONCILE_BATCH_SIZE, reconcileAfterMs);
    const live: string[] = [];
    for (const order of due) {
      if (this.job.stopped.aborted) break;
      // One order the gateway cannot answer for does not hold up the others; it is due again after its claim.
      const result = await this.reconcile(order).catch((error: unknown) => {
        this.logger.warn(`Reconciling order ${order.id} failed (${error instanceof Error ? error.message : String(error)})`);
        return undefined;
      });
      if (result === 'live') live.push(order.id);
      else if (result) ordersReconciled.publish({ result });
    }
    await this.orders.unclaim(live);
    openOrdersObserved.publish({ oldestBeganAt: await this.orders.oldestOpenBeganAt() });
  }

  /** The result if this call settled the order; 'live' if an execution holds its lock; undefined if someone else settled it. */
  private async reconcile(order: Order): Promise<ReconcileResult | 'live' | undefined> {
    if (await this.idempotency.isLocked(order.idempotencyRecordId)) return 'live';
    const charge = await this.gateway.findCharge(order.id);
    if (charge) {
      const { marked } = await this.payments.recordCharge(order, charge, ['CREATED']);
      return marked ? 'paid' : undefined;
    }
    const failure = {
      code: 'ABANDONED',
      detail: 'Nobody finished this attempt and the gateway had not charged; a retry with the same key resumes it.',
      retryable: true,
      failedAt: new Date().toISOString(),
    };
    return (await this.orders.markFailed(order, failure, ['CREATED'])) ? 'abandoned' : undefined;
  }
}
