#include "board.h"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/wdt.h>
#include <util/atomic.h>
#include <util/delay.h>

#include "../core/sensor.h"

#if defined(KNOTMETER_SENSOR_HX711) == defined(KNOTMETER_SENSOR_FSR)
#error "build with exactly one of -DKNOTMETER_SENSOR_FSR and -DKNOTMETER_SENSOR_HX711 (the Makefile does)"
#endif
#ifndef KNOTMETER_BAUD
#error "KNOTMETER_BAUD is not set (the Makefile's BAUD, 115200 by default)"
#endif
#ifndef KNOTMETER_MOTOR_DUTY
#define KNOTMETER_MOTOR_DUTY 192
#endif
#ifndef KNOTMETER_BUZZER_HZ
#define KNOTMETER_BUZZER_HZ 2000
#endif

static_assert(F_CPU == 16000000UL, "the sample clock and the UART divisor assume a 16 MHz crystal");

namespace {

using knotmeter::ByteRing;
using knotmeter::Conversion;
using knotmeter::RxRing;
using knotmeter::Sample;
using knotmeter::SampleQueue;

// UART divisor with U2X0, rounded to nearest: 16 at 115200 (117647 baud, +2.1 %),
// 7 at 250000 and 3 at 500000 (both exact).
const uint16_t kUbrr = static_cast<uint16_t>((F_CPU + 4UL * KNOTMETER_BAUD) / (8UL * KNOTMETER_BAUD) - 1);
const uint32_t kActualBaud = F_CPU / (8UL * (kUbrr + 1UL));
static_assert(kActualBaud * 1000UL <= KNOTMETER_BAUD * 1025UL && kActualBaud * 1000UL >= KNOTMETER_BAUD * 975UL,
              "this baud rate is more than 2.5 % off at 16 MHz: pick another (115200, 250000, 500000)");

// Timer1 at clk/64: 250000 ticks a second, 4 µs each.
const uint32_t kTimerTicksPerSecond = F_CPU / 64UL;
const uint32_t kMicrosPerTick = 4;

// Timer2 at clk/32 toggles D9 twice a period.
const uint8_t kBuzzerTop = static_cast<uint8_t>(F_CPU / 32UL / (2UL * KNOTMETER_BUZZER_HZ) - 1);
static_assert(F_CPU / 32UL / (2UL * KNOTMETER_BUZZER_HZ) - 1 <= 255, "KNOTMETER_BUZZER_HZ too low for Timer2 at clk/32");
static_assert(KNOTMETER_MOTOR_DUTY >= 1 && KNOTMETER_MOTOR_DUTY <= 255, "KNOTMETER_MOTOR_DUTY is 1..255");

ByteRing<256> txRing;
RxRing<128> rxRing;
SampleQueue<8> sampleQueue;

// The sample clock, owned by the Timer1 interrupt (main code reads it with interrupts off).
volatile uint32_t periodStartUs;  // when the current period began: the t_us of its sample
volatile uint16_t periodTicks;    // the current period's length
uint16_t rateHz;
uint16_t baseTicks;         // kTimerTicksPerSecond / rateHz ...
uint16_t extraTicks;        // ... and the remainder, spread over the periods (Bresenham)
uint16_t extraAccumulator;  // so the rate is exact on average, with 4 µs of jitter at most
bool sampling;
volatile bool rateChangePending;
uint16_t pendingRateHz, pendingBaseTicks, pendingExtraTicks;

#if defined(KNOTMETER_SENSOR_FSR)
volatile uint32_t conversionStartUs;  // the t_us of the conversion under way
#else
volatile int32_t hx711Latest;   // the last conversion read ...
volatile bool hx711HaveValue;   // ... once there has been one since boot: no sample before
#endif

volatile bool entropyClockRunning;
volatile bool watchdogTicked;
volatile uint16_t watchdogCapture;

// The thumb button: to ground, with the internal pull-up (fsr build D2, hx711 build D4).
#if defined(KNOTMETER_SENSOR_FSR)
const uint8_t kButtonBit = PIND2;
#else
const uint8_t kButtonBit = PIND4;
#endif
const uint8_t kButtonReads = 8;
const uint8_t kButtonReadGapMs = 2;

// Held only if every read is low: a bounce, a glitch or a floating pin reads
// high at least once and leaves the ceiling locked.
bool readThumbButtonHeld() {
  DDRD &= static_cast<uint8_t>(~_BV(kButtonBit));
  PORTD |= _BV(kButtonBit);
  _delay_ms(1);  // the pull-up charges the pin's capacitance
  for (uint8_t read = 0; read < kButtonReads; read++) {
    if (PIND & _BV(kButtonBit)) return false;
    _delay_ms(kButtonReadGapMs);
  }
  return true;
}

#if defined(KNOTMETER_SENSOR_HX711)
// The HX711 does not see this AVR reset (watchdog, the host's DTR, the reset
// button): one that came in the middle of a read leaves it part-way through
// shifting out a conversion. Read from there, the first value is torn and the
// pulses past the 25th select channel A gain 64 for the next conversion (half
// the reading); stopped on a 1 bit, it holds DOUT high and is never read
// again. So power it down (SCK high over 60 µs) and up (SCK low): that resets
// it to channel A, gain 128, with its first data after the settling time
// (4 conversion periods: 50 ms at 80 SPS, 400 ms at 10 SPS).
void resetHx711() {
  PORTD &= static_cast<uint8_t>(~_BV(PORTD3));
  DDRD |= _BV(DDD3);
  PORTD |= _BV(PORTD3);
  _delay_us(100);
  PORTD &= static_cast<uint8_t>(~_BV(PORTD3));
}
#endif

uint16_t nextPeriodTicks() {
  uint16_t ticks = baseTicks;
  extraAccumulator += extraTicks;
  if (extraAccumulator >= rateHz) {
    extraAccumulator -= rateHz;
    ticks++;
  }
  return ticks;
}

}  // namespace

// One sample period has ended: the next starts now, and its sample is taken now.
ISR(TIMER1_COMPA_vect) {
  const uint32_t startUs = periodStartUs + static_cast<uint32_t>(periodTicks) * kMicrosPerTick;
  periodStartUs = startUs;
  if (rateChangePending) {
    rateHz = pendingRateHz;
    baseTicks = pendingBaseTicks;
    extraTicks = pendingExtraTicks;
    extraAccumulator = 0;
    rateChangePending = false;
  }
  // In CTC mode OCR1A is the top of the period that has just begun; the count
  // is a few ticks in at most, far below any new top (250 ticks at 1000 Hz).
  const uint16_t ticks = nextPeriodTicks();
  OCR1A = ticks - 1;
  periodTicks = ticks;
#if defined(KNOTMETER_SENSOR_FSR)
  conversionStartUs = startUs;
  ADCSRA |= _BV(ADSC);  // started in software: simavr 1.6 ignores the timer auto-trigger
#else
  // Before the first conversion there is no value to take, and no sample.
  if (hx711HaveValue) sampleQueue.push(startUs, hx711Latest);
#endif
}

#if defined(KNOTMETER_SENSOR_FSR)
ISR(ADC_vect) { sampleQueue.push(conversionStartUs, static_cast<int32_t>(ADC)); }
#endif

ISR(USART_RX_vect) {
  const uint8_t status = UCSR0A;  // before UDR0: reading UDR0 clears the error flags
  const uint8_t byte = UDR0;
  if (status & _BV(DOR0)) rxRing.markLost();
  rxRing.push(byte);
}

ISR(USART_UDRE_vect) {
  if (txRing.empty()) {
    UCSR0B &= static_cast<uint8_t>(~_BV(UDRIE0));
    return;
  }
  UDR0 = txRing.pop();
}

ISR(TIMER2_COMPA_vect) { PINB = _BV(PINB1); }  // writing 1 to PINx toggles the pin

ISR(WDT_vect) {
  watchdogCapture = TCNT1;
  watchdogTicked = true;
  // simavr 1.6 clears WDIE after every watchdog interrupt, even in interrupt-only
  // mode (the chip does that only in interrupt-and-reset mode): re-arm it, but
  // only while entropy is being gathered, never once the watchdog guards the loop.
  if (entropyClockRunning) WDTCSR |= _BV(WDIE);
}

namespace knotmeter {

void AvrBoard::init() {
#if defined(KNOTMETER_SENSOR_HX711)
  resetHx711();  // first: its settling time runs on during the thumb button's reads
#endif
  thumbButtonHeld_ = readThumbButtonHeld();
  // Outputs, all off: LED D13 = PB5, buzzer D9 = PB1, motor D6 = PD6.
  PORTB &= static_cast<uint8_t>(~(_BV(PORTB5) | _BV(PORTB1)));
  DDRB |= _BV(DDB5) | _BV(DDB1);
  PORTD &= static_cast<uint8_t>(~_BV(PORTD6));
  DDRD |= _BV(DDD6);
#if defined(KNOTMETER_SENSOR_HX711)
  // SCK (D3) low keeps the HX711 powered. DOUT (D2) is an input without the
  // internal pull-up: the HX711 drives it, and in simavr a pull-up would be
  // re-asserted on every PORTD write and mask the emulated DOUT.
  PORTD &= static_cast<uint8_t>(~(_BV(PORTD3) | _BV(PORTD2)));
  DDRD = static_cast<uint8_t>((DDRD | _BV(DDD3)) & ~_BV(DDD2));
#endif

  // Timer0: fast PWM at clk/64 (976 Hz) for the motor; OC0A joins D6 only while it runs.
  TCCR0A = _BV(WGM01) | _BV(WGM00);
  TCCR0B = _BV(CS01) | _BV(CS00);
  OCR0A = KNOTMETER_MOTOR_DUTY;

  // Timer2: CTC for the buzzer tone, clocked only while it sounds.
  TCCR2A = _BV(WGM21);
  TCCR2B = 0;
  OCR2A = kBuzzerTop;

  // ADC on A0 with the AVcc reference, clk/128 (125 kHz, 104 µs a conversion).
  ADMUX = _BV(REFS0);
  DIDR0 = _BV(ADC0D);
  ADCSRA = _BV(ADEN) | _BV(ADPS2) | _BV(ADPS1) | _BV(ADPS0);

  // UART 8N1 with U2X0. UBRR0L is written last: simavr recomputes its speed then.
  UCSR0A = _BV(U2X0);
  UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);
  UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
  UBRR0H = static_cast<uint8_t>(kUbrr >> 8);
  UBRR0L = static_cast<uint8_t>(kUbrr);

  sei();
}

bool AvrBoard::popSample(Sample& sample) {
  bool popped;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { popped = sampleQueue.pop(sample); }
  return popped;
}

bool AvrBoard::readHx711(Conversion& conversion) {
#if defined(KNOTMETER_SENSOR_HX711)
  if (PIND & _BV(PIND2)) return false;  // DOUT high: no conversion ready; come back next loop
  uint32_t bits = 0;
  // 24 data bits, MSB first, each valid 0.1 µs after SCK rises; then a 25th
  // pulse selects channel A, gain 128 for the next conversion. SCK high must
  // stay under 60 µs or the HX711 powers down: each high phase (about 1.5 µs)
  // runs with interrupts off; the low phases may be stretched by interrupts.
  for (uint8_t pulse = 0; pulse < 25; pulse++) {
    uint8_t bit;
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
      PORTD |= _BV(PORTD3);
      _delay_us(1);
      bit = (PIND >> PIND2) & 1;
      PORTD &= static_cast<uint8_t>(~_BV(PORTD3));
    }
    if (pulse < 24) bits = (bits << 1) | bit;
    _delay_us(1);
  }
  const int32_t value = (bits & 0x800000UL) ? static_cast<int32_t>(bits | 0xFF000000UL) : static_cast<int32_t>(bits);
  conversion.raw = value;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    hx711Latest = value;
    hx711HaveValue = true;
    conversion.readUs = nowUs();
    // The tick that ends the current period takes the first sample with this
    // value, whether its interrupt is still to come or already pending.
    conversion.sampleUs = periodStartUs + static_cast<uint32_t>(periodTicks) * kMicrosPerTick;
  }
  return true;
#else
  (void)conversion;
  return false;
#endif
}

bool AvrBoard::txWrite(const char* bytes, uint8_t length) {
  if (!txRing.write(bytes, length)) return false;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { UCSR0B |= _BV(UDRIE0); }
  return true;
}

uint16_t AvrBoard::txFree() { return txRing.free(); }

int16_t AvrBoard::rxRead() { return rxRing.read(); }

uint8_t AvrBoard::eepromRead(uint16_t address) {
  while (EECR & _BV(EEPE)) {
  }  // the core never reads while a write is under way; this only guards the rule
  EEAR = address;
  EECR |= _BV(EERE);
  return EEDR;
}

void AvrBoard::eepromWriteStart(uint16_t address, uint8_t value) {
  EEAR = address;
  EEDR = value;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    EECR = _BV(EEMPE);  // erase and write (EEPM = 0) ...
    EECR |= _BV(EEPE);  // ... started within 4 cycles of EEMPE
  }
}

bool AvrBoard::eepromBusy() { return EECR & _BV(EEPE); }

uint32_t AvrBoard::nowUs() {
  uint32_t startUs;
  uint16_t ticks;
  uint16_t count;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    startUs = periodStartUs;
    ticks = periodTicks;
    count = TCNT1;
    // A match whose interrupt has not run yet: the counter has already
    // restarted from 0 (unless it still shows the top, one tick after the match).
    if ((TIFR1 & _BV(OCF1A)) && count < ticks - 1) startUs += static_cast<uint32_t>(ticks) * kMicrosPerTick;
  }
  return startUs + static_cast<uint32_t>(count) * kMicrosPerTick;
}

void AvrBoard::setSampleRate(uint16_t newRateHz) {
  const uint16_t base = static_cast<uint16_t>(kTimerTicksPerSecond / newRateHz);
  const uint16_t extra = static_cast<uint16_t>(kTimerTicksPerSecond % newRateHz);
  if (sampling) {
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
      pendingRateHz = newRateHz;
      pendingBaseTicks = base;
      pendingExtraTicks = extra;
      rateChangePending = true;
    }
    return;
  }
  // The first call starts the clock at t_us = 0 (ending the entropy phase, if any).
  if (entropyClockRunning) {
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
      entropyClockRunning = false;
      wdt_reset();
      WDTCSR = _BV(WDCE) | _BV(WDE);
      WDTCSR = _BV(WDIF);  // off, and a pending watchdog interrupt cleared
    }
  }
  rateHz = newRateHz;
  baseTicks = base;
  extraTicks = extra;
  extraAccumulator = 0;
  periodStartUs = 0;
  const uint16_t first = nextPeriodTicks();
  periodTicks = first;
  TCCR1B = 0;
  TCCR1A = 0;
  TCNT1 = 0;
  OCR1A = first - 1;
  TIFR1 = _BV(OCF1A);
  TIMSK1 = _BV(OCIE1A);
#if defined(KNOTMETER_SENSOR_FSR)
  ADCSRA |= _BV(ADIF);  // writing 1 clears a flag left by the entropy conversions
  ADCSRA |= _BV(ADIE);
#else
  ADCSRA = 0;  // the hx711 build needed the ADC for entropy only
#endif
  sampling = true;
  TCCR1B = _BV(WGM12) | _BV(CS11) | _BV(CS10);  // CTC on OCR1A, clk/64: go
}

// One measurement: A0 converted over and over (its least significant bits are
// noise) until the watchdog's own 128 kHz RC oscillator ticks (16 ms), mixed
// with where the crystal-clocked Timer1 stood at that tick (jitter between the
// two oscillators). Bounded, so a missing watchdog interrupt cannot hang the boot.
uint16_t AvrBoard::entropy() {
  if (!entropyClockRunning) {
    TCCR1A = 0;
    TCCR1B = _BV(CS10);  // free-running at 16 MHz
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
      wdt_reset();
      WDTCSR = _BV(WDCE) | _BV(WDE);
      WDTCSR = _BV(WDIE);  // interrupt only, every 16 ms
    }
    entropyClockRunning = true;
  }
  watchdogTicked = false;
  uint16_t mix = 0;
  for (uint16_t conversions = 0; !watchdogTicked && conversions < 500; conversions++) {
    ADCSRA |= _BV(ADSC);
    for (uint16_t spin = 0; (ADCSRA & _BV(ADSC)) && spin < 2000; spin++) {
    }
    mix = static_cast<uint16_t>((mix << 3) | (mix >> 13)) ^ ADC;
  }
  return mix ^ watchdogCapture;
}

// The pull-up set by readThumbButtonHeld stays on: later PORTD writes are read-modify-write.
bool AvrBoard::thumbButtonDown() { return !(PIND & _BV(kButtonBit)); }

void AvrBoard::setLed(bool on) {
  if (on) {
    PORTB |= _BV(PORTB5);
  } else {
    PORTB &= static_cast<uint8_t>(~_BV(PORTB5));
  }
}

void AvrBoard::setMotor(bool on) {
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    if (on && KNOTMETER_MOTOR_DUTY == 255) {
      PORTD |= _BV(PORTD6);  // full on: a steady level, not a 255/256 PWM
    } else if (on) {
      TCCR0A |= _BV(COM0A1);  // non-inverting PWM on OC0A
    } else {
      TCCR0A &= static_cast<uint8_t>(~(_BV(COM0A1) | _BV(COM0A0)));
      PORTD &= static_cast<uint8_t>(~_BV(PORTD6));
    }
  }
}

void AvrBoard::setBuzzer(bool on) {
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    if (on) {
      TCNT2 = 0;
      TIFR2 = _BV(OCF2A);
      TIMSK2 = _BV(OCIE2A);
      TCCR2B = _BV(CS21) | _BV(CS20);  // clk/32
    } else {
      TCCR2B = 0;
      TIMSK2 = 0;
      PORTB &= static_cast<uint8_t>(~_BV(PORTB1));
    }
  }
}

}  // namespace knotmeter
