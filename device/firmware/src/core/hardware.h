// The tiny hardware interface the firmware core sits behind. The AVR glue
// (src/avr/board.cpp) implements it with registers and interrupts; the host
// tests (FakeHardware in test/test_device.h) with plain memory and a fake clock.
// Every call returns at once: the core never waits for the hardware.
//
//   knotmeter::AvrBoard board;  // a Hardware
//   knotmeter::Knotmeter core(board, kSensor, KNOTMETER_BAUD, KNOTMETER_CEILING_RAW);
//   core.begin(board.thumbButtonHeld());
//   for (;;) { while (board.popSample(sample)) core.onSample(sample); core.update(); }
#ifndef KNOTMETER_HARDWARE_H
#define KNOTMETER_HARDWARE_H

#include <stdint.h>

namespace knotmeter {

// An HX711 conversion, handed to the core by the main loop as soon as it has
// been read (hx711 build).
struct Conversion {
  int32_t raw;        // signed 24-bit counts, before tare
  uint32_t readUs;    // the device clock when it was read
  uint32_t sampleUs;  // the t_us of the first sample that carries it: the next tick
};

// rxRead() results that are not a byte.
const int16_t kRxEmpty = -1;  // nothing received
const int16_t kRxLost = -2;   // the receive buffer overflowed here: bytes are missing

class Hardware {
 public:
  // UART transmit: queue all `length` bytes or none (returns false when they do not fit).
  virtual bool txWrite(const char* bytes, uint8_t length) = 0;
  virtual uint16_t txFree() = 0;
  // UART receive: the next byte (0..255), kRxEmpty or kRxLost.
  virtual int16_t rxRead() = 0;

  // EEPROM: a write only starts; eepromBusy() is true until it has finished.
  // Reads are only made while not busy.
  virtual uint8_t eepromRead(uint16_t address) = 0;
  virtual void eepromWriteStart(uint16_t address, uint8_t value) = 0;
  virtual bool eepromBusy() = 0;

  // The device clock (the same clock as the samples' t_us), wrapping at 2^32 µs.
  virtual uint32_t nowUs() = 0;
  // Start sampling at `rateHz`, or change the rate from the next sample on.
  virtual void setSampleRate(uint16_t rateHz) = 0;
  // One noisy measurement for the device id (ADC noise mixed with timer jitter).
  // Only called at first boot, before sampling starts; may take a few milliseconds.
  virtual uint16_t entropy() = 0;

  virtual void setLed(bool on) = 0;     // D13
  virtual void setMotor(bool on) = 0;   // D6, PWM
  virtual void setBuzzer(bool on) = 0;  // D9, a tone

  // The thumb button's pin as it reads now (true: pressed, the pin low), not debounced:
  // the core debounces it. A board without a button keeps this default.
  virtual bool thumbButtonDown() { return false; }

 protected:
  ~Hardware() {}
};

}  // namespace knotmeter

#endif
