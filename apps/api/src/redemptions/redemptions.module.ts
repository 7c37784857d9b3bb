import { Module } from '@nestjs/common';
import { ReceiptKeysController } from './receipt-keys.controller';
import { ReceiptKeys } from './receipt-keys.service';
import { RedemptionsController } from './redemptions.controller';
import { RedemptionsService } from './redemptions.service';

/** Redemptions with signed receipts (EdDSA JWS), the JWKS, and the operator's key rotation. */
@Module({
  controllers: [RedemptionsController, ReceiptKeysController],
  providers: [RedemptionsService, ReceiptKeys],
  exports: [RedemptionsService],
})
export class RedemptionsModule {}
