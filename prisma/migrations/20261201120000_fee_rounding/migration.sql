-- How per-fill fees round. Markets that exist already keep rounding down (their logged trades replay as they
-- were committed); every market created from now on rounds up, in the venue's favour, so that splitting an order
-- into smaller fills never pays less fee than the unsplit order would.
ALTER TABLE market ADD COLUMN fee_rounding text NOT NULL DEFAULT 'down' CHECK (fee_rounding IN ('up', 'down'));
ALTER TABLE market ALTER COLUMN fee_rounding SET DEFAULT 'up';
