-- Orders held for their principal's approval (libs/sequencer approvals.ts) are projected with the status
-- 'pending_approval' until the principal approves them (then open, closed, ... as any order), rejects them
-- ('rejected', reason APPROVAL_REJECTED) or their request expires ('expired', reason APPROVAL_EXPIRED).
ALTER TABLE trading_order DROP CONSTRAINT trading_order_status_check;
ALTER TABLE trading_order ADD CONSTRAINT trading_order_status_check
  CHECK (status IN ('open', 'closed', 'canceled', 'rejected', 'expired', 'pending_approval'));
-- a principal's list of what waits for it
CREATE INDEX trading_order_pending ON trading_order (agent_id) WHERE status = 'pending_approval';
