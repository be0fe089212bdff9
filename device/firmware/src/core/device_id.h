// The device id: made once, at the first boot, from noisy measurements (ADC
// noise and timer jitter against the watchdog's own oscillator), then kept in
// EEPROM. Never 00000000 or ffffffff (the values of a cleared or blank EEPROM).
#ifndef KNOTMETER_DEVICE_ID_H
#define KNOTMETER_DEVICE_ID_H

#include <stdint.h>

namespace knotmeter {

const uint8_t kEntropySamples = 8;

bool validDeviceId(uint32_t id);
// Folds one measurement into the pool.
uint32_t mixEntropy(uint32_t pool, uint16_t measurement);
// MurmurHash3's 32-bit finaliser (a bijection) of the pool, stepped on until
// the result is a valid id.
uint32_t deviceIdFromPool(uint32_t pool);
uint32_t finalMix(uint32_t value);

}  // namespace knotmeter

#endif
