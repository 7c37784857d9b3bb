import { AppError } from '@ate/contracts';
import { listAccounts, openAccount, systemAccount } from '@ate/ledger';
import type { Pool } from 'pg';
import type { AccountIds } from './settlement';
import { selectAgentNum, selectAgents } from './sql';

/** Agents the shared balance view holds (agent.num below this; one bit each there, balances are sparse). */
export const HOST_AGENTS_MAX = 1 << 20;

/**
 * Who is who for the host: each agent's small integer number (the engine's agent id) and the ledger account ids
 * that settlement legs name. Resolved before a command is sequenced (`prepare`), so a batch never waits on them.
 */
export class Directory implements AccountIds {
  private nums = new Map<string, number>();
  private ids = new Map<number, string>();
  private accounts = new Map<string, string>();

  constructor(private readonly pool: Pool) {}

  /** Loads every agent and every agent and system account (settlement names makers placed before a restart). */
  async load(): Promise<void> {
    this.nums = new Map();
    this.ids = new Map();
    for (const r of await selectAgents(this.pool)) {
      this.nums.set(r.id, r.num);
      this.ids.set(r.num, r.id);
    }
    this.accounts = new Map();
    for (const a of await listAccounts(this.pool, ['agent', 'system', 'principal'])) {
      this.accounts.set(a.ownerKind === 'agent' ? `${a.ownerId}|${a.asset}` : `${a.ownerKind}:${a.ownerId}|${a.asset}`, a.id);
    }
  }

  /** The agent's number, if the host knows the agent. */
  numOf(agentId: string): number | undefined {
    return this.nums.get(agentId);
  }

  /** The agent's id by number ('' for a number the host has not seen). */
  idOf(num: number): string {
    return this.ids.get(num) ?? '';
  }

  /** The agent's number, read from the agent table the first time. */
  async resolve(agentId: string): Promise<number> {
    let n = this.nums.get(agentId);
    if (n === undefined) {
      n = await selectAgentNum(this.pool, agentId);
      if (n === undefined) throw new AppError('NOT_FOUND', 'No such agent.', { agentId });
      if (n >= HOST_AGENTS_MAX) throw new AppError('SERVICE_UNAVAILABLE', 'This node holds no more agents (HOST_AGENTS_MAX).');
      this.nums.set(agentId, n);
      this.ids.set(n, agentId);
    }
    return n;
  }

  /** Opens (or finds) the agent's account in an asset. */
  async ensureAccount(agentId: string, asset: string): Promise<string> {
    const key = `${agentId}|${asset}`;
    let id = this.accounts.get(key);
    if (!id) {
      const r = await openAccount(this.pool, { kind: 'agent', id: agentId }, asset);
      if (!r.ok) throw new AppError(r.code, r.message, r.details);
      id = r.account.id;
      this.accounts.set(key, id);
    }
    return id;
  }

  /** Opens (or finds) a principal's own account in an asset. */
  async ensurePrincipalAccount(principalId: string, asset: string): Promise<string> {
    const key = `principal:${principalId}|${asset}`;
    let id = this.accounts.get(key);
    if (!id) {
      const r = await openAccount(this.pool, { kind: 'principal', id: principalId }, asset);
      if (!r.ok) throw new AppError(r.code, r.message, r.details);
      id = r.account.id;
      this.accounts.set(key, id);
    }
    return id;
  }

  principal(principalId: string, asset: string): string {
    const id = this.accounts.get(`principal:${principalId}|${asset}`);
    if (!id) throw new Error(`no ledger account known for principal ${principalId} in ${asset}`);
    return id;
  }

  /** Opens (or finds) a system account of an asset. */
  async ensureSystem(name: 'fees' | 'issuance' | 'redemption', asset: string): Promise<string> {
    const key = `system:${name}|${asset}`;
    let id = this.accounts.get(key);
    if (!id) {
      const r = await systemAccount(this.pool, name, asset);
      if (!r.ok) throw new AppError(r.code, r.message, r.details);
      id = r.account.id;
      this.accounts.set(key, id);
    }
    return id;
  }

  agent(agentId: string, asset: string): string {
    const id = this.accounts.get(`${agentId}|${asset}`);
    if (!id) throw new Error(`no ledger account known for ${agentId} in ${asset}`); // prepare() opens them before sequencing
    return id;
  }

  system(name: 'fees' | 'issuance' | 'redemption', asset: string): string {
    const id = this.accounts.get(`system:${name}|${asset}`);
    if (!id) throw new Error(`no ${name} account known for ${asset}`);
    return id;
  }
}
