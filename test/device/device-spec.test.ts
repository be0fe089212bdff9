/** The device spec's syntax and the one option every kind takes: `?name=`. */
import { describe, expect, it } from 'vitest';
import { DeviceSpecError, parseDeviceSpec } from '../../device/device-spec.ts';
import { createTransport } from '../../device/registry.ts';

describe('?name= in a device spec', () => {
  it('is taken out of the options, decoded and trimmed', () => {
    const spec = parseDeviceSpec('sim:treatment?rate=100&name=%20Couch%202%20');
    expect(spec.name).toBe('Couch 2');
    expect([...spec.options.keys()]).toEqual(['rate']);
    expect(parseDeviceSpec('sim').name).toBeNull();
  });

  it('reaches the created transport, which never sees it as an option of its own', () => {
    expect(createTransport('sim?name=Anna%E2%80%99s%20massager', { instance: 0, seed: 1 }).name).toBe('Anna’s massager');
  });

  it.each([
    ['sim?name=', /name="" is not a device name: it must not be empty/],
    ['sim?name=%20%20', /name=" {2}" is not a device name: it must not be empty/],
    [`sim?name=${'x'.repeat(41)}`, /it must be at most 40 characters/],
    ['sim?name=a%0Ab', /name="a\\nb" is not a device name: it must not contain control characters/],
    ['sim?name=a%E2%80%AEb', /must not contain bidirectional text controls/],
    ['sim?name=%E0%A4%A', /name=%E0%A4%A is not valid percent-encoding/],
    ['sim?name=a&name=b', /option "name" is given twice/],
  ])('refuses %s naming the flag and the value', (text, message) => {
    expect(() => parseDeviceSpec(text)).toThrow(DeviceSpecError);
    expect(() => parseDeviceSpec(text)).toThrow(message);
    expect(() => parseDeviceSpec(text)).toThrow(`device spec "${text}"`);
  });
});
