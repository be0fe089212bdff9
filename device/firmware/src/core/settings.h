// The EEPROM layout: two records, each with a magic byte, a layout version and
// a CRC-8, so a blank (0xFF) or corrupt EEPROM is recognised and gets defaults.
// The device id has a record of its own: an interrupted LIMIT or TARE write can
// cost the thresholds, never the id the host files its calibration under.
//
//   addr  size  field
//   0     1     identity magic 'K' (0x4B)
//   1     1     identity layout version (1)
//   2     4     device id, little-endian (never 0x00000000 or 0xFFFFFFFF)
//   6     1     CRC-8 of bytes 0..5
//   7     1     unused (0xFF)
//   8     1     settings magic 'S' (0x53)
//   9     1     settings layout version (1)
//   10    1     sensor kind (1 fsr, 2 hx711): a record from the other build is not used
//   11    4     limit_on, int32 little-endian
//   15    4     limit_off, int32 little-endian
//   19    4     HX711 tare offset in raw counts, int32 little-endian (0 for fsr)
//   23    1     CRC-8 of bytes 8..22
//
// CRC-8: polynomial 0x07, initial value 0, no reflection, no final XOR (CRC-8/SMBUS).
#ifndef KNOTMETER_SETTINGS_H
#define KNOTMETER_SETTINGS_H

#include <stdint.h>

#include "sensor.h"

namespace knotmeter {

const uint8_t kIdentityAddress = 0;
const uint8_t kIdentityMagic = 0x4B;
const uint8_t kSettingsAddress = 8;
const uint8_t kSettingsMagic = 0x53;
const uint8_t kLayoutVersion = 1;
const uint8_t kEepromImageBytes = 24;

struct Settings {
  int32_t limitOn;     // raw counts; 0,0 = alarm off
  int32_t limitOff;
  int32_t tareOffset;  // subtracted from HX711 readings
};

// Blank or corrupt EEPROM: alarm off (a raw-count threshold means nothing before
// the host has calibrated the device and sent LIMIT), no tare offset.
const Settings kDefaultSettings = {0, 0, 0};

uint8_t crc8(const uint8_t* bytes, uint8_t length);

// LIMIT's rule: 0,0 (off), or 0 <= off < on <= the sensor's highest raw value.
bool validLimits(int32_t limitOn, int32_t limitOff, const SensorProfile& sensor);

// Fill / read the whole kEepromImageBytes image.
void encodeImage(uint32_t deviceId, const Settings& settings, SensorKind kind, uint8_t* image);
bool decodeIdentity(const uint8_t* image, uint32_t& deviceId);
bool decodeSettings(const uint8_t* image, const SensorProfile& sensor, Settings& settings);

}  // namespace knotmeter

#endif
