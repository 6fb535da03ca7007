import { Body, Controller, Get, Put, Query } from '@nestjs/common';
import { AdminOnly } from '../auth/index.js';
import { ListChargesQueryDto } from './dto/list-charges-query.dto.js';
import { UpdatePaymentBehaviorDto } from './dto/update-payment-behavior.dto.js';
import type { PaymentBehavior } from './payment-behavior.js';
import { GatewayCharge, PaymentProviderService } from './payment-provider.service.js';

/** Tunes the mock gateway and shows its ledger: the ground truth of what was charged. */
@Controller('admin')
@AdminOnly()
export class PaymentBehaviorController {
  constructor(private readonly provider: PaymentProviderService) {}

  @Get('payment-behavior')
  getBehavior(): Promise<PaymentBehavior> {
    return this.provider.getBehavior();
  }

  @Put('payment-behavior')
  updateBehavior(@Body() changes: UpdatePaymentBehaviorDto): Promise<PaymentBehavior> {
    return this.provider.updateBehavior(changes);
  }

  @Get('provider/charges')
  async listCharges(@Query() filter: ListChargesQueryDto): Promise<{ charges: GatewayCharge[] }> {
    return { charges: await this.provider.listCharges(filter) };
  }
}
