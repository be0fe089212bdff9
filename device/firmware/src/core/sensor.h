// What differs between the two builds, as data: raw range, rate caps, the
// longest sample line (for the link rule) and which sensor faults apply.
#ifndef KNOTMETER_SENSOR_H
#define KNOTMETER_SENSOR_H

#include <stdint.h>

namespace knotmeter {

enum SensorKind { kSensorFsr = 1, kSensorHx711 = 2 };

struct SensorProfile {
  SensorKind kind;
  const char* name;        // as in HELLO
  int32_t rawMin;
  int32_t rawMax;
  uint16_t maxRateHz;      // the sensor's own limit
  uint16_t defaultRateHz;  // after boot, unless the link carries less
  uint8_t sampleLineBytes; // L: the longest S line with its '\n'
};

extern const SensorProfile kFsrProfile;    // A0, 10-bit ADC, 0..1023
extern const SensorProfile kHx711Profile;  // D2/D3, signed 24-bit, 80 Hz at most

const uint16_t kMinRateHz = 10;
const uint16_t kProtocolMaxRateHz = 1000;

// The link rule: floor(0.9 * baud / 10 / L), with the nominal baud.
uint16_t linkMaxRateHz(uint32_t baud, uint8_t sampleLineBytes);
// The highest rate RATE accepts: the protocol's, the sensor's and the link's caps.
uint16_t maxRateHz(const SensorProfile& sensor, uint32_t baud);

}  // namespace knotmeter

#endif
