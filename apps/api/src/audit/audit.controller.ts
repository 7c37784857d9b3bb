import { Controller, Get } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Roles } from '../auth/decorators';
import { ZodQuery } from '../common/zod';
import { auditCursor, AuditService } from './audit.service';

const Time = z.iso.datetime({ offset: true });
export const AuditQuery = z.strictObject({
  /** an actor: a principal's or agent's id, or the key id of an operator */
  actor: z.string().min(1).max(64).optional(),
  /** the id of what was acted on (an agent, a market, a key...) */
  target: z.string().min(1).max(128).optional(),
  action: z
    .string()
    .regex(/^[a-z][a-z_.]{1,63}$/)
    .optional(),
  /** ISO 8601 instants: from (inclusive) to (exclusive) */
  from: Time.optional(),
  to: Time.optional(),
  cursor: z.string().max(32).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** The audit log: every operator (and principal) action, newest first. Admin keys only. */
@ApiTags('admin')
@ApiSecurity('signature')
@Roles('admin')
@Controller('v1/admin/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  list(@ZodQuery(AuditQuery) q: z.infer<typeof AuditQuery>) {
    return this.audit.list({
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.target ? { target: q.target } : {}),
      ...(q.action ? { action: q.action } : {}),
      ...(q.from ? { from: new Date(q.from) } : {}),
      ...(q.to ? { to: new Date(q.to) } : {}),
      ...(q.cursor ? { cursor: auditCursor(q.cursor) } : {}),
      limit: q.limit,
    });
  }
}
