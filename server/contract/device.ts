/**
 * What the device layer declares that crosses the wire, re-exported for the contract: the
 * device id (8 lowercase hex digits), the sensor kinds, a transport's link status and its
 * capabilities.
 * They are declared in `device/` because the device layer needs them itself and may not
 * import the server; clients (the dashboard) take them from here.
 */
export { DEVICE_ID_FORM, DEVICE_ID_PATTERN, deviceIdSchema, type DeviceId } from '../../device/device-id.ts';
export { sensorKindSchema, transportCapabilitiesSchema, transportStatusSchema, type LinkState, type SensorKind, type TransportCapabilities, type TransportStatus } from '../../device/transport.ts';
