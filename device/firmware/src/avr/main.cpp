// The firmware's entry point on the ATmega328P: the board, the core, and the
// main loop that carries samples from the sampling interrupt to the core and
// feeds the watchdog. Nothing in the loop waits for anything.
#include <avr/io.h>
#include <avr/wdt.h>

#include "../core/knotmeter.h"
#include "board.h"

// After a watchdog reset the watchdog stays enabled with its shortest timeout;
// switch it off before the C runtime's initialisation can take that long.
extern "C" void disableWatchdogAtReset() __attribute__((naked, used, section(".init3")));
extern "C" void disableWatchdogAtReset() {
  MCUSR = 0;
  wdt_disable();
}

// Called only through a broken vtable: let the watchdog reset the chip.
extern "C" void __cxa_pure_virtual() {
  for (;;) {
  }
}

namespace {

#ifndef KNOTMETER_CEILING_RAW
#error "KNOTMETER_CEILING_RAW is not set (the Makefile's CEILING_FSR / CEILING_HX711)"
#endif

#if defined(KNOTMETER_SENSOR_HX711)
const knotmeter::SensorProfile& kSensor = knotmeter::kHx711Profile;
static_assert(KNOTMETER_CEILING_RAW >= 1 && KNOTMETER_CEILING_RAW <= 8388607L, "CEILING_HX711 is 1..8388607 counts");
#else
const knotmeter::SensorProfile& kSensor = knotmeter::kFsrProfile;
static_assert(KNOTMETER_CEILING_RAW >= 1 && KNOTMETER_CEILING_RAW <= 1023, "CEILING_FSR is 1..1023 counts");
#endif

knotmeter::AvrBoard board;
knotmeter::Knotmeter core(board, kSensor, KNOTMETER_BAUD, KNOTMETER_CEILING_RAW);

}  // namespace

int main() {
  board.init();
  core.begin(board.thumbButtonHeld());  // HELLO; at a first boot ~130 ms of entropy for the device id first
  wdt_enable(WDTO_250MS);
  knotmeter::Sample sample = knotmeter::Sample();
  knotmeter::Conversion conversion = knotmeter::Conversion();
  for (;;) {
    while (board.popSample(sample)) core.onSample(sample);
    // hx711: the alarm is judged on a conversion as soon as it is read, before
    // the sample that carries it is taken off the queue.
    if (board.readHx711(conversion)) core.onConversion(conversion);
    core.update();
    wdt_reset();
  }
}
