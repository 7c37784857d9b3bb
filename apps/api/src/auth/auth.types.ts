export type Role = 'agent' | 'principal' | 'admin';

/** Who a verified request comes from. */
export interface AuthContext {
  keyId: string;
  role: Role;
  agentId: string | null;
  principalId: string | null;
}

export const ROLES: readonly Role[] = ['agent', 'principal', 'admin'];
