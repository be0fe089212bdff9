// The EEPROM layout: two records, each with a magic byte, a layout version and
// a CRC-8, so a blank (0xFF) or corrupt EEPROM is recognised and gets defaults.
// The device id has a record of its own: an interrupted LIMIT or TARE write can
// cost the thresholds, never the id the host files its calibration under. So
// has the alarm ceiling (set only by CEILING after a boot with the thumb button
// held): a LIMIT cut short cannot cost it either.
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
//   24    1     ceiling magic 'C' (0x43); all 0xFF = no ceiling set: the build's default
//   25    1     ceiling layout version (1)
//   26    1     sensor kind (1 fsr, 2 hx711)
//   27    4     alarm ceiling in raw counts, int32 little-endian (1 .. the sensor's highest)
//   31    1     CRC-8 of bytes 24..30
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
const uint8_t kCeilingAddress = 24;
const uint8_t kCeilingMagic = 0x43;
const uint8_t kLayoutVersion = 1;
const uint8_t kEepromImageBytes = 32;

struct Settings {
  int32_t limitOn;     // raw counts
  int32_t limitOff;
  int32_t tareOffset;  // subtracted from HX711 readings
};

// No tare, and thresholds still to be set from the ceiling (defaultLimits).
const Settings kDefaultSettings = {0, 0, 0};

// The alarm's ceiling: `raw` counts, and whether it is the one stored by CEILING
// (else the build's default, and the EEPROM record stays blank).
struct Ceiling {
  int32_t raw;
  bool stored;
};

uint8_t crc8(const uint8_t* bytes, uint8_t length);

// LIMIT's shape: 0,0 (the alarm off, which 1.1.0 accepted and LIMIT now refuses:
// see withinCeiling), or 0 <= off < on <= the sensor's highest raw value.
bool validLimits(int32_t limitOn, int32_t limitOff, const SensorProfile& sensor);
// Thresholds the alarm may have under `ceilingRaw`: on at or below it, never off (0,0).
bool withinCeiling(int32_t limitOn, int32_t limitOff, int32_t ceilingRaw);
// The thresholds of a blank EEPROM, of 1.1.0's 0,0, of limits above a lowered
// ceiling: on at the ceiling, off 1/32 of it lower (at least 1 count).
void defaultLimits(int32_t ceilingRaw, Settings& settings);
// CEILING's range: 1 .. the sensor's highest raw value.
bool validCeiling(int32_t ceilingRaw, const SensorProfile& sensor);

// Fill / read the whole kEepromImageBytes image.
void encodeImage(uint32_t deviceId, const Settings& settings, const Ceiling& ceiling, SensorKind kind, uint8_t* image);
bool decodeIdentity(const uint8_t* image, uint32_t& deviceId);
bool decodeSettings(const uint8_t* image, const SensorProfile& sensor, Settings& settings);
// A stored ceiling record of this sensor build, intact and in range.
bool decodeCeiling(const uint8_t* image, const SensorProfile& sensor, int32_t& ceilingRaw);

}  // namespace knotmeter

#endif
