import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiProblemResponses } from '../common/openapi.js';
import { Principal } from '../common/principal.js';
import { IDEMPOTENCY_RESPONSE_HEADERS, Idempotent, IdempotentRequest, type IdempotencyContext } from '../idempotency/index.js';
import { ChargeRequestDto } from './dto/charge-request.dto.js';
import { Payment } from './payment.js';
import { PaymentsService } from './payments.service.js';

@ApiTags('payments')
@ApiBearerAuth()
@ApiProblemResponses(401, 429)
@Controller('payments')
export class PaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Post('charge')
  @Idempotent()
  @ApiOperation({ operationId: 'charge', summary: 'Create an order and charge it, once per Idempotency-Key' })
  @ApiCreatedResponse({
    type: Payment,
    headers: { ...IDEMPOTENCY_RESPONSE_HEADERS, Location: { description: 'The charge: /api/payments/{id}', schema: { type: 'string' } } },
  })
  @ApiProblemResponses(402, 413, 502)
  async charge(
    @IdempotentRequest() idempotency: IdempotencyContext,
    @Body() request: ChargeRequestDto,
    // Taken (not passthrough): the idempotency interceptor sends the stored outcome itself.
    @Res() response: Response,
  ): Promise<Payment> {
    const payment = await this.payments.charge(idempotency, request);
    response.location(`/api/payments/${payment.id}`);
    return payment;
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getPayment', summary: 'One charge of the calling merchant' })
  @ApiOkResponse({ type: Payment })
  @ApiProblemResponses(404)
  get(@Principal() owner: string, @Param('id') id: string): Promise<Payment> {
    return this.payments.get(owner, id);
  }
}
