-- Maker and taker fees per market, in basis points. Each side pays its fee out of what the trade gives it
-- (the buyer in the base asset, the seller in credits), rounded down to the minor unit, into the system `fees`
-- account of that asset: no reservation is needed and a fee can never overdraw an account.
ALTER TABLE market ADD COLUMN maker_fee_bps integer NOT NULL DEFAULT 0 CHECK (maker_fee_bps BETWEEN 0 AND 1000);
ALTER TABLE market ADD COLUMN taker_fee_bps integer NOT NULL DEFAULT 0 CHECK (taker_fee_bps BETWEEN 0 AND 1000);
-- the buyer's fee in base-asset minor units, the seller's in credit minor units
ALTER TABLE trade ADD COLUMN buyer_fee bigint NOT NULL DEFAULT 0 CHECK (buyer_fee >= 0);
ALTER TABLE trade ADD COLUMN seller_fee bigint NOT NULL DEFAULT 0 CHECK (seller_fee >= 0);
