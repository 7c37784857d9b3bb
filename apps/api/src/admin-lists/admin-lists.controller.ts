import { Controller, Get } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Roles } from '../auth/decorators';
import { ZodQuery } from '../common/zod';
import { AdminListsService } from './admin-lists.service';

const Paging = {
  /** case-insensitive substring of the id or the name (label, base asset) */
  q: z.string().min(1).max(128).optional(),
  /** the nextCursor of the previous page */
  cursor: z.string().max(128).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
};
export const PrincipalsQuery = z.strictObject(Paging);
export const AgentsQuery = z.strictObject({
  ...Paging,
  principalId: z
    .string()
    .regex(/^prn_[a-z0-9]{8,32}$/)
    .optional(),
  /** e.g. active, suspended */
  status: z
    .string()
    .regex(/^[a-z_]{1,32}$/)
    .optional(),
});
export const KeysQuery = z.strictObject({
  ...Paging,
  agentId: z
    .string()
    .regex(/^agt_[a-z0-9]{8,32}$/)
    .optional(),
  principalId: z
    .string()
    .regex(/^prn_[a-z0-9]{8,32}$/)
    .optional(),
  role: z.enum(['agent', 'principal', 'admin']).optional(),
  revoked: z.enum(['true', 'false']).optional(),
});
export const MarketsQuery = z.strictObject(Paging);

/** The operator's lists and searches, cursor-paged in id order. Admin keys only. */
@ApiTags('admin')
@ApiSecurity('signature')
@Roles('admin')
@Controller('v1/admin')
export class AdminListsController {
  constructor(private readonly lists: AdminListsService) {}

  @Get('principals')
  principals(@ZodQuery(PrincipalsQuery) q: z.infer<typeof PrincipalsQuery>) {
    return this.lists.principals(q);
  }

  @Get('agents')
  agents(@ZodQuery(AgentsQuery) q: z.infer<typeof AgentsQuery>) {
    return this.lists.agents(q);
  }

  @Get('keys')
  keys(@ZodQuery(KeysQuery) q: z.infer<typeof KeysQuery>) {
    const { revoked, ...rest } = q;
    return this.lists.keys({ ...rest, ...(revoked !== undefined ? { revoked: revoked === 'true' } : {}) });
  }

  @Get('markets')
  markets(@ZodQuery(MarketsQuery) q: z.infer<typeof MarketsQuery>) {
    return this.lists.markets(q);
  }
}
