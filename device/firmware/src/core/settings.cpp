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

void encodeImage(uint32_t deviceId, const Settings& settings, SensorKind kind, uint8_t* image) {
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

}  // namespace knotmeter
