import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class ListChargesQueryDto {
  /** The client's Idempotency-Key as it sent it. */
  @ApiPropertyOptional({ description: "The client's Idempotency-Key as it sent it" })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  idempotencyKey?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(64)
  orderId?: string;
}
