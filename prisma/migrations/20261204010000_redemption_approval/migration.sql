-- Redemptions above a policy's threshold wait for the principal's approval (libs/sequencer approvals.ts): the
-- row is written when the redemption is held (pending_approval, nothing burnt, no receipt) and updated when the
-- wait ends: issued (burnt then, its receipt signed), or rejected, expired, canceled with the reason.
ALTER TABLE redemption
  ADD COLUMN status              text NOT NULL DEFAULT 'issued'
    CHECK (status IN ('issued', 'pending_approval', 'rejected', 'expired', 'canceled')),
  ADD COLUMN reason              text,
  ADD COLUMN approval_expires_at bigint,
  ADD COLUMN decided_at          bigint;
-- only an issued redemption carries a receipt
ALTER TABLE redemption ADD CONSTRAINT redemption_receipt_issued CHECK (receipt IS NULL OR status = 'issued');

-- A row is fixed once written, except: a pending redemption's wait ends once (its status, reason, decision time,
-- and, issued, the command that burnt it and when), and an issued one gets its receipt, once.
CREATE OR REPLACE FUNCTION redemption_receipt_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'redemption rows are never deleted' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.id <> OLD.id OR NEW.agent_id <> OLD.agent_id OR NEW.client_redemption_id <> OLD.client_redemption_id
     OR NEW.asset <> OLD.asset OR NEW.amount <> OLD.amount OR NEW.allowance_expires_at IS DISTINCT FROM OLD.allowance_expires_at
     OR NEW.principal_id IS DISTINCT FROM OLD.principal_id OR NEW.approval_expires_at IS DISTINCT FROM OLD.approval_expires_at THEN
    RAISE EXCEPTION 'a redemption is fixed once written (only its wait ends, once, and its receipt is added, once)' USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.status = 'pending_approval' AND NEW.status <> 'pending_approval' THEN
    IF OLD.receipt IS NOT NULL OR NEW.receipt IS NOT NULL OR NEW.decided_at IS NULL OR (NEW.status <> 'issued' AND NEW.issued_at <> OLD.issued_at) THEN
      RAISE EXCEPTION 'a pending redemption''s wait ends once, without a receipt' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  IF OLD.receipt IS NOT NULL OR NEW.status <> OLD.status OR NEW.command_seq <> OLD.command_seq OR NEW.issued_at <> OLD.issued_at
     OR NEW.reason IS DISTINCT FROM OLD.reason OR NEW.decided_at IS DISTINCT FROM OLD.decided_at THEN
    RAISE EXCEPTION 'a redemption is fixed once written (only its wait ends, once, and its receipt is added, once)' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
