import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/decorators';
import { Actor, ActorOf, auditOf, AuditService } from '../audit/audit.service';
import { ReceiptKeys } from './receipt-keys.service';

/** Operators rotate the receipt signing key (audited); receipts signed before stay verifiable. */
@ApiTags('admin')
@ApiSecurity('signature')
@Roles('admin')
@Controller('v1/admin/receipt-keys')
export class ReceiptKeysController {
  constructor(
    private readonly keys: ReceiptKeys,
    private readonly audit: AuditService,
  ) {}

  @Post('rotate')
  @HttpCode(200)
  async rotate(@ActorOf() actor: Actor) {
    const r = await this.audit.run(auditOf(actor, 'receipt_key.rotate', { kind: 'receipt_key', id: 'active' }), async (client) => {
      const k = await this.keys.rotate(client);
      return { result: k, before: { kid: k.before }, after: { kid: k.after } };
    });
    this.keys.forget();
    return { kid: r.after, retired: r.before };
  }
}
