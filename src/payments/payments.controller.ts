import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Principal } from '../common/principal.js';
import { Idempotent, IdempotentRequest, type IdempotencyContext } from '../idempotency/index.js';
import { ChargeRequestDto } from './dto/charge-request.dto.js';
import type { Payment } from './payment.js';
import { PaymentsService } from './payments.service.js';

@Controller('payments')
export class PaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Post('charge')
  @Idempotent()
  async charge(
    @IdempotentRequest() idempotency: IdempotencyContext,
    @Body() request: ChargeRequestDto,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Payment> {
    const payment = await this.payments.charge(idempotency, request);
    response.location(`/api/payments/${payment.id}`);
    return payment;
  }

  @Get(':id')
  get(@Principal() owner: string, @Param('id') id: string): Promise<Payment> {
    return this.payments.get(owner, id);
  }
}
