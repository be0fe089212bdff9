/** The renameDevice live request: checked with its contract schema, kept, audited; refusals change nothing. */
import { describe, expect, it } from 'vitest';
import type { CommandReply, DeviceInfo } from '../../../server/contract/live-events.ts';
import { DeviceNames } from '../../../server/devices/names.ts';
import { renameRequests } from '../../../server/devices/rename-request.ts';
import type { DevicePipeline } from '../../../server/pipeline.ts';
import type { AuditEvent } from '../../../server/recording/audit-trail.ts';

const DEVICE = '1a2b3c4d';

function setUp(): { names: DeviceNames; audited: AuditEvent[]; ask: (payload: unknown) => CommandReply } {
  const names = DeviceNames.open(undefined);
  const audited: AuditEvent[] = [];
  // Only `info` of a pipeline is read: which devices this server has, and their names now.
  const pipeline = { info: { deviceId: DEVICE, name: 'Simulator 3c4d' } as DeviceInfo } as unknown as DevicePipeline;
  const answer = renameRequests({ names, pipelines: () => [pipeline], audit: (event) => audited.push(event) });
  const ask = (payload: unknown): CommandReply => {
    const replies: CommandReply[] = [];
    answer(payload, (answered) => replies.push(answered), '192.168.1.20');
    expect(replies).toHaveLength(1);
    return replies[0] as CommandReply;
  };
  return { names, audited, ask };
}

describe('renameDevice', () => {
  it('names the device, and writes who renamed it from what to what in the audit log', () => {
    const { names, audited, ask } = setUp();
    expect(ask({ deviceId: DEVICE, name: ' Window couch ' })).toEqual({ ok: true });
    expect(names.get(DEVICE)).toBe('Window couch');
    expect(audited).toEqual([{ client: '192.168.1.20', action: 'name', deviceId: DEVICE, sessionId: null, before: { name: 'Simulator 3c4d' }, after: { name: 'Window couch' } }]);
    expect(ask({ deviceId: DEVICE, name: 'Window couch' })).toEqual({ ok: true });
    expect(audited).toHaveLength(1);
  });

  it.each([
    [{ deviceId: DEVICE, name: 'a\nb' }, /name: must not contain control characters/],
    [{ deviceId: DEVICE, name: 'x'.repeat(41) }, /name: must be at most 40 characters/],
    [{ deviceId: DEVICE }, /name: /],
    [{ deviceId: DEVICE, name: 'Couch', extra: 1 }, /Unrecognized key/],
    [{ deviceId: 'ffffffff', name: 'Couch' }, /no device ffffffff on this server/],
  ])('refuses %j, changing nothing', (payload, message) => {
    const { names, audited, ask } = setUp();
    const reply = ask(payload);
    expect(reply.ok).toBe(false);
    expect(reply.ok ? '' : reply.error).toMatch(/^renameDevice refused/);
    expect(reply.ok ? '' : reply.error).toMatch(message);
    expect(names.get(DEVICE)).toBeNull();
    expect(audited).toEqual([]);
  });
});
