export function mechanisms(): string {
  return 'mechanisms';
}
