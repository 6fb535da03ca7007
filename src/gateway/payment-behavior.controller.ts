import { Body, Controller, Get, Put, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/index.js';
import { ApiProblemResponses } from '../common/openapi.js';
import { LedgerView } from './gateway-charge.js';
import { ListChargesQueryDto } from './dto/list-charges-query.dto.js';
import { UpdatePaymentBehaviorDto } from './dto/update-payment-behavior.dto.js';
import { PaymentBehavior } from './payment-behavior.js';
import { MockGatewayService } from './mock-gateway.service.js';

/** Tunes the mock gateway and shows its ledger: the ground truth of what was charged. */
@ApiTags('admin')
@ApiSecurity('admin-token')
@ApiProblemResponses(401)
@Controller('admin')
@AdminOnly()
export class PaymentBehaviorController {
  constructor(private readonly provider: MockGatewayService) {}

  @Get('payment-behavior')
  @ApiOperation({ operationId: 'getPaymentBehavior', summary: "The mock gateway's behaviour" })
  @ApiOkResponse({ type: PaymentBehavior })
  getBehavior(): Promise<PaymentBehavior> {
    return this.provider.getBehavior();
  }

  @Put('payment-behavior')
  @ApiOperation({ operationId: 'updatePaymentBehavior', summary: 'Change any subset of the behaviour' })
  @ApiOkResponse({ type: PaymentBehavior })
  @ApiProblemResponses(400)
  updateBehavior(@Body() changes: UpdatePaymentBehaviorDto): Promise<PaymentBehavior> {
    return this.provider.updateBehavior(changes);
  }

  @Get('provider/charges')
  @ApiOperation({ operationId: 'listGatewayCharges', summary: 'What the gateway really charged: the ground truth' })
  @ApiOkResponse({ type: LedgerView })
  async listCharges(@Query() filter: ListChargesQueryDto): Promise<LedgerView> {
    return { charges: await this.provider.listCharges(filter) };
  }
}
