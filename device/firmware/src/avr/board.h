// The ATmega328P behind the core's Hardware interface (Arduino Uno/Nano wiring,
// 16 MHz). Interrupt handlers fill the buffers; the main loop drains them.
//
//   Timer1  CTC, clk/64 (4 µs ticks): the sample clock and t_us; each compare
//           match is one sample (the FSR build starts the ADC conversion there,
//           in software: simavr 1.6 cannot auto-trigger the ADC from a timer)
//   ADC     A0, AVcc reference, clk/128 (104 µs a conversion), ADC interrupt
//   Timer0  fast PWM on OC0A = D6, the vibration motor
//   Timer2  CTC interrupt toggling D9, the buzzer tone
//   USART0  8N1, U2X, RX and UDRE interrupts
//   WDT     interrupt mode for entropy at first boot, then reset mode (250 ms)
//   D13     status LED; D2/D3 HX711 DOUT/SCK (hx711 build)
//   D2/D4   the thumb button to ground, internal pull-up (fsr build: D2; hx711 build: D4),
//           read at power-up (the boot gesture), then polled by the core (MARK)
#ifndef KNOTMETER_AVR_BOARD_H
#define KNOTMETER_AVR_BOARD_H

#include <stdint.h>

#include "../core/hardware.h"
#include "../core/rings.h"

namespace knotmeter {

class AvrBoard : public Hardware {
 public:
  // Pins, UART, ADC, PWM and tone timers; enables interrupts. Sampling starts
  // with the first setSampleRate(). Reads the thumb button first (about 20 ms).
  void init();
  // The thumb button was held at power-up: low on each of 8 reads 2 ms apart.
  bool thumbButtonHeld() const { return thumbButtonHeld_; }
  // The next sample from the sampling interrupt, if any.
  bool popSample(Sample& sample);
  // hx711 build: reads a conversion if the HX711 has one ready (DOUT low), never
  // waits; true when it did. From the first one on, each tick takes a sample of
  // the last conversion read (none before). The fsr build: always false.
  bool readHx711(Conversion& conversion);

  bool txWrite(const char* bytes, uint8_t length) override;
  uint16_t txFree() override;
  int16_t rxRead() override;
  uint8_t eepromRead(uint16_t address) override;
  void eepromWriteStart(uint16_t address, uint8_t value) override;
  bool eepromBusy() override;
  uint32_t nowUs() override;
  void setSampleRate(uint16_t rateHz) override;
  uint16_t entropy() override;
  void setLed(bool on) override;
  void setMotor(bool on) override;
  void setBuzzer(bool on) override;
  bool thumbButtonDown() override;

 private:
  bool thumbButtonHeld_ = false;
};

}  // namespace knotmeter

#endif
