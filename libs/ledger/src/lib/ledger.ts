export function ledger(): string {
  return 'ledger';
}
