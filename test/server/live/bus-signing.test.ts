// The bus's signatures (server/live/bus-signing.ts) message by message: what a server signs,
// another with the same key takes once; a tampered, foreign-keyed, replayed, stale or
// oversized message is refused and told. (The two-server test, test/server/cli/bus.test.ts,
// attacks a real bus.)
import { describe, expect, it } from 'vitest';
import { BusSigner, FRESH_MS, MAX_MESSAGE_BYTES, type Refusal } from '../../../server/live/bus-signing.ts';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210');
const ENTRY = { uid: 'u1', nsp: '/', type: '3', data: '{"packet":{"type":2,"data":["status",{"deviceId":"a1b2c3d4"}]}}' };

function pair(key = KEY, clock = { nowMs: 1_000_000 }): { sender: BusSigner; receiver: BusSigner; refused: Refusal[]; clock: { nowMs: number } } {
  const refused: Refusal[] = [];
  const now = (): number => clock.nowMs;
  return { sender: new BusSigner(KEY, 'server-a', () => undefined, now), receiver: new BusSigner(key, 'server-b', (refusal) => refused.push(refusal), now), refused, clock };
}

describe('stream entries (broadcasts)', () => {
  it('are taken as they were sent, once', () => {
    const { sender, receiver, refused } = pair();
    const signed = sender.signEntry(ENTRY);
    expect(receiver.verifyEntry(signed)).toEqual(ENTRY);
    expect(receiver.verifyEntry(signed)).toBeNull();
    expect(refused).toEqual(['replayed']);
  });

  it('are refused when unsigned, changed, or signed with another key', () => {
    const { sender, receiver, refused } = pair();
    expect(receiver.verifyEntry(ENTRY)).toBeNull();
    expect(receiver.verifyEntry({ ...sender.signEntry(ENTRY), data: ENTRY.data.replace('a1b2c3d4', 'ffffffff') })).toBeNull();
    expect(pair(OTHER_KEY).receiver.verifyEntry(sender.signEntry(ENTRY))).toBeNull();
    expect(refused).toEqual(['not signed with the bus key', 'not signed with the bus key']);
  });

  it('are taken with their fields in any order, and refused when text moves from one field to the next', () => {
    const { sender, receiver, refused } = pair();
    const signed = sender.signEntry(ENTRY);
    const reversed = Object.fromEntries(Object.entries(signed).reverse());
    expect(receiver.verifyEntry(reversed)).toEqual(ENTRY);
    // The same characters in the same order, one moved across the boundary between nsp and type.
    const moved = sender.signEntry({ ...ENTRY, nsp: '/3', type: '' });
    expect(receiver.verifyEntry({ ...moved, nsp: '/', type: '3' })).toBeNull();
    expect(refused).toEqual(['not signed with the bus key']);
  });

  it('from a sender not heard yet are taken only within FRESH_MS of this clock', () => {
    const { sender, receiver, refused, clock } = pair();
    const old = sender.signEntry(ENTRY);
    clock.nowMs += FRESH_MS + 1;
    expect(receiver.verifyEntry(old)).toBeNull();
    expect(refused).toEqual(['stale']);
    expect(receiver.verifyEntry(sender.signEntry(ENTRY))).toEqual(ENTRY);
  });

  it('are refused unread past MAX_MESSAGE_BYTES', () => {
    const { sender, receiver, refused } = pair();
    expect(receiver.verifyEntry(sender.signEntry({ ...ENTRY, data: 'x'.repeat(MAX_MESSAGE_BYTES) }))).toBeNull();
    expect(refused).toEqual(['too big']);
  });
});

describe('pub/sub messages (announcements, forwarded requests, answers)', () => {
  const payload = Buffer.from([0x84, 0xa3, 0x75, 0x69, 0x64, 0x01, 0xff, 0x00]);

  it('are taken as they were sent, once, on the channel they were sent on', () => {
    const { sender, receiver, refused } = pair();
    const signed = sender.signMessage('knotmeter#/#', payload);
    expect(receiver.verifyMessage('knotmeter#/#', signed)).toEqual(payload);
    expect(receiver.verifyMessage('knotmeter#/#', signed)).toBeNull();
    expect(receiver.verifyMessage('knotmeter#/#other#', sender.signMessage('knotmeter#/#', payload))).toBeNull();
    expect(refused).toEqual(['replayed', 'not signed with the bus key']);
  });

  it('are refused when unsigned, truncated, changed or signed with another key', () => {
    const { sender, receiver, refused } = pair();
    const signed = sender.signMessage('knotmeter#/#', payload);
    const changed = Buffer.from(signed);
    changed[changed.length - 1] = 0x01;
    for (const wrong of [payload, Buffer.alloc(0), Buffer.from([0xff]), signed.subarray(0, 20), changed]) expect(receiver.verifyMessage('knotmeter#/#', wrong)).toBeNull();
    expect(pair(OTHER_KEY).receiver.verifyMessage('knotmeter#/#', signed)).toBeNull();
    expect(refused).toHaveLength(5);
    expect(new Set(refused)).toEqual(new Set(['not signed with the bus key']));
  });

  it('keep their own count apart from the stream: a sender is not refused for using both', () => {
    const { sender, receiver, refused } = pair();
    const message = sender.signMessage('knotmeter#/#', payload);
    const entry = sender.signEntry(ENTRY);
    expect(receiver.verifyEntry(entry)).toEqual(ENTRY);
    expect(receiver.verifyMessage('knotmeter#/#', message)).toEqual(payload);
    expect(refused).toEqual([]);
  });
});
