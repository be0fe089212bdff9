/**
 * The device id: 8 lowercase hex digits, made by the firmware at first boot and sent in
 * every `$HELLO` (device/PROTOCOL.md, "Identity"); boards without one of their own
 * (Firmata, the simulator, a replay) get one of the same form. Declared once, here; the
 * calibration profiles, the command lines and the wire contract (`server/contract/`) use
 * this declaration.
 *
 *   if (!DEVICE_ID_PATTERN.test(id)) throw new Error(`${id} is not a device id (${DEVICE_ID_FORM})`);
 */
import { z } from 'zod';

export const DEVICE_ID_PATTERN = /^[0-9a-f]{8}$/;

/** How messages describe the form, with an example. */
export const DEVICE_ID_FORM = '8 lowercase hex digits, e.g. 1a2b3c4d';

export const deviceIdSchema = z.string().regex(DEVICE_ID_PATTERN, `a device id is ${DEVICE_ID_FORM}`);
export type DeviceId = z.infer<typeof deviceIdSchema>;
