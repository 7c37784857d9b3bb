/** A connection URL as a log line or an error may show it: the password replaced by ***; null when it does not parse. */
export function redactUrl(url: string): string | null {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return null;
  }
}
