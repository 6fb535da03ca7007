import { Module } from '@nestjs/common';
import { OrdersModule } from '../orders/orders.module.js';
import { GatewayModule } from '../gateway/gateway.module.js';
import { PaymentsController } from './payments.controller.js';
import { PaymentsRepository } from './payments.repository.js';
import { PaymentsService } from './payments.service.js';

@Module({
  imports: [OrdersModule, GatewayModule],
  controllers: [PaymentsController],
  providers: [PaymentsService, PaymentsRepository],
})
export class PaymentsModule {}
