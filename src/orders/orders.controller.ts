import { Controller, Get, Param, Query } from '@nestjs/common';
import { Principal } from '../common/principal.js';
import { ListOrdersQueryDto } from './dto/list-orders-query.dto.js';
import { toOrderView, type OrderView } from './order.js';
import { OrdersService } from './orders.service.js';

@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Get()
  async list(@Principal() owner: string, @Query() query: ListOrdersQueryDto): Promise<{ data: OrderView[]; nextCursor: string | null }> {
    const page = await this.orders.list(owner, query.limit, query.cursor);
    return { data: page.orders.map(toOrderView), nextCursor: page.nextCursor };
  }

  @Get(':id')
  async get(@Principal() owner: string, @Param('id') id: string): Promise<OrderView> {
    return toOrderView(await this.orders.get(owner, id));
  }
}
