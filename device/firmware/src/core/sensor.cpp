#include "sensor.h"

namespace knotmeter {

// L = len("$S,65535,4294967295,1023*HH\n") = 28
const SensorProfile kFsrProfile = {kSensorFsr, "fsr", 0, 1023, 1000, 100, 28};
// L = len("$S,65535,4294967295,-8388608*HH\n") = 32
const SensorProfile kHx711Profile = {kSensorHx711, "hx711", -8388608L, 8388607L, 80, 80, 32};

uint16_t linkMaxRateHz(uint32_t baud, uint8_t sampleLineBytes) {
  // 0.9 * baud / 10 / L == 9 * baud / (100 * L), in integers so it floors exactly.
  const uint32_t rate = (9UL * baud) / (100UL * sampleLineBytes);
  return rate > 0xFFFF ? 0xFFFF : static_cast<uint16_t>(rate);
}

uint16_t maxRateHz(const SensorProfile& sensor, uint32_t baud) {
  uint16_t rate = kProtocolMaxRateHz;
  if (sensor.maxRateHz < rate) rate = sensor.maxRateHz;
  const uint16_t link = linkMaxRateHz(baud, sensor.sampleLineBytes);
  if (link < rate) rate = link;
  return rate;
}

}  // namespace knotmeter
