import { Module } from '@nestjs/common';
import { PaymentGateway } from './payment-gateway.js';
import { MockGatewayService } from './mock-gateway.service.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';

/**
 * The payment gateway behind its port, without routes (the events worker uses it too). Here the
 * mock; a real gateway replaces the `useExisting` binding with its own class.
 */
@Module({
  providers: [MockGatewayService, WebhookDeliveryService, { provide: PaymentGateway, useExisting: MockGatewayService }],
  exports: [PaymentGateway, MockGatewayService],
})
export class GatewayModule {}
