import { ValidationOptions, registerDecorator } from 'class-validator';

export interface StringRecordLimits {
  maxEntries: number;
  maxKeyLength: number;
  maxValueLength: number;
}

/** A flat JSON object of string values, bounded in size (e.g. metadata). */
export function IsStringRecord(limits: StringRecordLimits, options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isStringRecord',
      target: target.constructor,
      propertyName,
      options: {
        message: `${propertyName} must be an object of at most ${limits.maxEntries} string values (keys up to ${limits.maxKeyLength} characters, values up to ${limits.maxValueLength})`,
        ...options,
      },
      validator: {
        validate(value: unknown) {
          if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
          const entries = Object.entries(value);
          return (
            entries.length <= limits.maxEntries &&
            entries.every(
              ([key, item]) => key.length > 0 && key.length <= limits.maxKeyLength && typeof item === 'string' && item.length <= limits.maxValueLength,
            )
          );
        },
      },
    });
}
