import { Module } from '@nestjs/common';
import { PaymentBehaviorController } from './payment-behavior.controller.js';
import { PaymentProviderService } from './payment-provider.service.js';

@Module({
  controllers: [PaymentBehaviorController],
  providers: [PaymentProviderService],
  exports: [PaymentProviderService],
})
export class ProviderModule {}
