/**
 * An address to show or log without its password: `--store postgres://USER:PASSWORD@…` and
 * `--bus redis://:PASSWORD@…` appear on dashboards, in logs and in usage errors this way.
 *
 *   withoutPassword('redis://:s3cret@10.0.0.5:6379'); // 'redis://10.0.0.5:6379'
 */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '';
    return parsed.toString();
  } catch {
    // Not a URL the parser takes (a typo): still nothing between ':' and '@' is shown.
    return url.replace(/:[^:@/]*@/, '@');
  }
}
