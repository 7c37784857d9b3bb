import { applyDecorators, ArgumentMetadata, Body, PipeTransform, Query } from '@nestjs/common';
import { ApiBody, ApiQuery } from '@nestjs/swagger';
import { AppError } from '@ate/contracts';
import { z } from 'zod';

/**
 * Validation at the edge with zod (Nest 11 + class-validator would also do; zod gives us one schema for the
 * check, the TypeScript type and the OpenAPI 3.1 document through z.toJSONSchema, see openApiSchema). Objects should be
 * z.strictObject so unknown fields are refused.
 */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.infer<T>> {
  constructor(private readonly schema: T) {}

  transform(value: unknown, meta: ArgumentMetadata): z.infer<T> {
    const r = this.schema.safeParse(value);
    if (r.success) return r.data;
    throw new AppError('VALIDATION_FAILED', `Invalid ${meta.type === 'body' ? 'request body' : meta.type}.`, {
      issues: r.error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message, code: i.code })),
    });
  }
}

/**
 * A zod schema as an OpenAPI 3.1 Schema Object: JSON Schema 2020-12 (zod's default target, which 3.1 takes as
 * is) without the `$schema` keyword, which belongs to a document's root, not to each embedded schema.
 */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) as Record<string, unknown>;
  void _dialect;
  return rest;
}

/** `@ZodBody(schema) body: z.infer<typeof schema>`: validates the body and documents it in OpenAPI. */
export function ZodBody<T extends z.ZodType>(schema: T): ParameterDecorator {
  return (target, key, index) => {
    Body(new ZodPipe(schema))(target, key, index);
    if (key !== undefined) {
      const descriptor = Object.getOwnPropertyDescriptor(target, key);
      if (descriptor) applyDecorators(ApiBody({ schema: openApiSchema(schema) }))(target, key, descriptor);
    }
  };
}

/** `@ZodQuery(schema) q`: validates the query string (values arrive as strings). */
export function ZodQuery<T extends z.ZodObject>(schema: T): ParameterDecorator {
  return (target, key, index) => {
    Query(new ZodPipe(schema))(target, key, index);
    if (key !== undefined) {
      const descriptor = Object.getOwnPropertyDescriptor(target, key);
      if (descriptor) {
        for (const [name, field] of Object.entries(schema.shape)) {
          applyDecorators(
            ApiQuery({ name, required: !(field as z.ZodType).safeParse(undefined).success, schema: openApiSchema(field as z.ZodType) }),
          )(target, key, descriptor);
        }
      }
    }
  };
}

/** Postgres' bigint bound: a cursor or id beyond it would be a database error (22003), not a clear 400. */
export const INT8_MAX = 9223372036854775807n;

/** A non-negative decimal integer string that fits a Postgres bigint (a cursor into a bigint-keyed list). */
export const Int8String = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,18})$/, 'must be a non-negative integer')
  .refine((s) => BigInt(s) <= INT8_MAX, `must be at most ${INT8_MAX}`);
