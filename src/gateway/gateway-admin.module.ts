import { Module } from '@nestjs/common';
import { GatewayModule } from './gateway.module.js';
import { PaymentBehaviorController } from './payment-behavior.controller.js';

/** The mock gateway's own admin routes: its behaviour and its ledger. */
@Module({
  imports: [GatewayModule],
  controllers: [PaymentBehaviorController],
})
export class GatewayAdminModule {}
