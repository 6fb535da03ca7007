import { Module } from '@nestjs/common';
import { OrdersRepository } from '../orders/orders.repository.js';
import { OrdersService } from '../orders/orders.service.js';
import { GatewayModule } from '../gateway/gateway.module.js';
import { PaymentsReconciler } from './payments.reconciler.js';
import { PaymentsRepository } from './payments.repository.js';
import { PaymentsService } from './payments.service.js';

/**
 * The reconciler and what it needs, without the orders' and payments' routes: it runs in the
 * events worker, which may be its own process serving only /health and /metrics. Needs the
 * idempotency store (IdempotencyModule) for the locks.
 */
@Module({
  imports: [GatewayModule],
  providers: [PaymentsReconciler, PaymentsService, PaymentsRepository, OrdersService, OrdersRepository],
})
export class PaymentsReconcilerModule {}
