#include "settings.h"

#include "device_id.h"

namespace knotmeter {

namespace {

void putInt32(uint8_t* at, uint32_t value) {
  for (uint8_t i = 0; i < 4; i++) at[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint32_t getInt32(const uint8_t* at) {
  uint32_t value = 0;
  for (uint8_t i = 0; i < 4; i++) value |= static_cast<uint32_t>(at[i]) << (8 * i);
  return value;
}

const uint8_t kIdentityCrcAt = kIdentityAddress + 6;
const uint8_t kSettingsCrcAt = kSettingsAddress + 15;
const uint8_t kCeilingCrcAt = kCeilingAddress + 7;

}  // namespace

uint8_t crc8(const uint8_t* bytes, uint8_t length) {
  uint8_t crc = 0;
  for (uint8_t i = 0; i < length; i++) {
    crc ^= bytes[i];
    for (uint8_t bit = 0; bit < 8; bit++) {
      crc = (crc & 0x80) ? static_cast<uint8_t>((crc << 1) ^ 0x07) : static_cast<uint8_t>(crc << 1);
    }
  }
  return crc;
}

bool validLimits(int32_t limitOn, int32_t limitOff, const SensorProfile& sensor) {
  if (limitOn == 0 && limitOff == 0) return true;
  return limitOff >= 0 && limitOff < limitOn && limitOn <= sensor.rawMax;
}

bool withinCeiling(int32_t limitOn, int32_t limitOff, int32_t ceilingRaw) {
  return !(limitOn == 0 && limitOff == 0) && limitOn <= ceilingRaw;
}

void defaultLimits(int32_t ceilingRaw, Settings& settings) {
  const int32_t gap = ceilingRaw / 32 > 0 ? ceilingRaw / 32 : 1;
  settings.limitOn = ceilingRaw;
  settings.limitOff = ceilingRaw - gap;
}

bool validCeiling(int32_t ceilingRaw, const SensorProfile& sensor) { return ceilingRaw >= 1 && ceilingRaw <= sensor.rawMax; }

void encodeImage(uint32_t deviceId, const Settings& settings, const Ceiling& ceiling, SensorKind kind, uint8_t* image) {
  image[kIdentityAddress] = kIdentityMagic;
  image[kIdentityAddress + 1] = kLayoutVersion;
  putInt32(image + kIdentityAddress + 2, deviceId);
  image[kIdentityCrcAt] = crc8(image + kIdentityAddress, kIdentityCrcAt - kIdentityAddress);
  image[7] = 0xFF;
  image[kSettingsAddress] = kSettingsMagic;
  image[kSettingsAddress + 1] = kLayoutVersion;
  image[kSettingsAddress + 2] = static_cast<uint8_t>(kind);
  putInt32(image + kSettingsAddress + 3, static_cast<uint32_t>(settings.limitOn));
  putInt32(image + kSettingsAddress + 7, static_cast<uint32_t>(settings.limitOff));
  putInt32(image + kSettingsAddress + 11, static_cast<uint32_t>(settings.tareOffset));
  image[kSettingsCrcAt] = crc8(image + kSettingsAddress, kSettingsCrcAt - kSettingsAddress);
  if (!ceiling.stored) {
    // Blank: the build's default applies, and a new build's default with it.
    for (uint8_t i = kCeilingAddress; i <= kCeilingCrcAt; i++) image[i] = 0xFF;
    return;
  }
  image[kCeilingAddress] = kCeilingMagic;
  image[kCeilingAddress + 1] = kLayoutVersion;
  image[kCeilingAddress + 2] = static_cast<uint8_t>(kind);
  putInt32(image + kCeilingAddress + 3, static_cast<uint32_t>(ceiling.raw));
  image[kCeilingCrcAt] = crc8(image + kCeilingAddress, kCeilingCrcAt - kCeilingAddress);
}

bool decodeIdentity(const uint8_t* image, uint32_t& deviceId) {
  if (image[kIdentityAddress] != kIdentityMagic || image[kIdentityAddress + 1] != kLayoutVersion) return false;
  if (crc8(image + kIdentityAddress, kIdentityCrcAt - kIdentityAddress) != image[kIdentityCrcAt]) return false;
  const uint32_t id = getInt32(image + kIdentityAddress + 2);
  if (!validDeviceId(id)) return false;
  deviceId = id;
  return true;
}

bool decodeSettings(const uint8_t* image, const SensorProfile& sensor, Settings& settings) {
  if (image[kSettingsAddress] != kSettingsMagic || image[kSettingsAddress + 1] != kLayoutVersion) return false;
  if (image[kSettingsAddress + 2] != static_cast<uint8_t>(sensor.kind)) return false;
  if (crc8(image + kSettingsAddress, kSettingsCrcAt - kSettingsAddress) != image[kSettingsCrcAt]) return false;
  Settings decoded;
  decoded.limitOn = static_cast<int32_t>(getInt32(image + kSettingsAddress + 3));
  decoded.limitOff = static_cast<int32_t>(getInt32(image + kSettingsAddress + 7));
  decoded.tareOffset = static_cast<int32_t>(getInt32(image + kSettingsAddress + 11));
  if (!validLimits(decoded.limitOn, decoded.limitOff, sensor)) return false;
  if (decoded.tareOffset < sensor.rawMin || decoded.tareOffset > sensor.rawMax) return false;
  if (sensor.kind == kSensorFsr && decoded.tareOffset != 0) return false;
  settings = decoded;
  return true;
}

bool decodeCeiling(const uint8_t* image, const SensorProfile& sensor, int32_t& ceilingRaw) {
  if (image[kCeilingAddress] != kCeilingMagic || image[kCeilingAddress + 1] != kLayoutVersion) return false;
  if (image[kCeilingAddress + 2] != static_cast<uint8_t>(sensor.kind)) return false;
  if (crc8(image + kCeilingAddress, kCeilingCrcAt - kCeilingAddress) != image[kCeilingCrcAt]) return false;
  const int32_t raw = static_cast<int32_t>(getInt32(image + kCeilingAddress + 3));
  if (!validCeiling(raw, sensor)) return false;
  ceilingRaw = raw;
  return true;
}

}  // namespace knotmeter
