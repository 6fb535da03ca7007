import { IsInt, IsISO4217CurrencyCode, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsStringRecord } from '../../common/is-string-record.validator.js';

export class ChargeRequestDto {
  /** Minor units (cents), so no float rounding ever touches money. */
  @ApiProperty({ description: 'Minor units (e.g. cents)', minimum: 1, maximum: 99_999_999, example: 1999 })
  @IsInt()
  @Min(1)
  @Max(99_999_999)
  amount: number;

  @ApiProperty({ description: 'ISO 4217 alphabetic code', example: 'EUR', pattern: '^[A-Z]{3}$' })
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be three upper-case letters' })
  @IsISO4217CurrencyCode()
  currency: string;

  @ApiProperty({ example: 'cus_42', pattern: '^[A-Za-z0-9_-]{1,64}$' })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'customerId must be 1-64 characters of A-Z, a-z, 0-9, _ or -' })
  customerId: string;

  @ApiPropertyOptional({ maxLength: 255 })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  description?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string', maxLength: 500 }, maxProperties: 20 })
  @IsOptional()
  @IsStringRecord({ maxEntries: 20, maxKeyLength: 40, maxValueLength: 500 })
  metadata?: Record<string, string>;
}
