import { Module } from '@nestjs/common';
import { PaymentBehaviorController } from './payment-behavior.controller.js';
import { PaymentProviderService } from './payment-provider.service.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';

@Module({
  controllers: [PaymentBehaviorController],
  providers: [PaymentProviderService, WebhookDeliveryService],
  exports: [PaymentProviderService],
})
export class ProviderModule {}
