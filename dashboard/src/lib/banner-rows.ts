/**
 * The over-pressure banner's rows, so that none moves while warnings come and go: device
 * ids in the order their warnings started, a new one below the others; one that ended
 * stays (the banner hides it) while a later one is open, else that one would move up;
 * ended ones at the end go at once, and all go when none is open.
 *
 *   rows = bannerRows(rows, new Set(warningDevices.map((device) => device.info.deviceId)));
 */
export function bannerRows(previous: readonly string[], open: ReadonlySet<string>): string[] {
  if (open.size === 0) return [];
  const listed = [...previous, ...[...open].filter((deviceId) => !previous.includes(deviceId))];
  let end = listed.length;
  while (end > 0 && !open.has(listed[end - 1] ?? '')) end--;
  return listed.slice(0, end);
}
