export function matching(): string {
  return 'matching';
}
