#include "device_id.h"

namespace knotmeter {

bool validDeviceId(uint32_t id) { return id != 0UL && id != 0xFFFFFFFFUL; }

uint32_t mixEntropy(uint32_t pool, uint16_t measurement) {
  pool = (pool << 7) | (pool >> 25);
  pool ^= measurement;
  return pool * 0x9E3779B1UL;
}

uint32_t finalMix(uint32_t value) {
  value ^= value >> 16;
  value *= 0x85EBCA6BUL;
  value ^= value >> 13;
  value *= 0xC2B2AE35UL;
  value ^= value >> 16;
  return value;
}

uint32_t deviceIdFromPool(uint32_t pool) {
  for (;;) {
    const uint32_t id = finalMix(pool);
    if (validDeviceId(id)) return id;
    pool += 0x9E3779B9UL;
  }
}

}  // namespace knotmeter
