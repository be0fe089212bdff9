// The core on a fake board: FakeHardware keeps the UART, EEPROM, clock and
// pins in memory; TestDevice boots a Knotmeter on it, feeds it samples at the
// sample clock (and, for the hx711, conversions between them, as the AVR board
// does), frames host commands and collects the lines it sends.
#ifndef KNOTMETER_TEST_DEVICE_H
#define KNOTMETER_TEST_DEVICE_H

#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "../src/core/device_id.h"
#include "../src/core/knotmeter.h"

namespace testing {

const uint32_t kEepromWriteUs = 3400;  // ATmega328P erase + write

// The build's default alarm ceilings (the Makefile's CEILING_FSR / CEILING_HX711).
const int32_t kBuildCeilingFsr = KNOTMETER_CEILING_FSR;
const int32_t kBuildCeilingHx711 = KNOTMETER_CEILING_HX711;
inline int32_t buildCeiling(const knotmeter::SensorProfile& sensor) {
  return sensor.kind == knotmeter::kSensorHx711 ? kBuildCeilingHx711 : kBuildCeilingFsr;
}
// `<on>,<off>,<ceiling>` of a HELLO whose thresholds are the defaults at the build's ceiling.
inline std::string atCeiling(const knotmeter::SensorProfile& sensor) {
  knotmeter::Settings settings = knotmeter::kDefaultSettings;
  knotmeter::defaultLimits(buildCeiling(sensor), settings);
  return std::to_string(settings.limitOn) + "," + std::to_string(settings.limitOff) + "," +
         std::to_string(buildCeiling(sensor));
}

struct PinChange {
  uint32_t tUs;
  char pin;  // 'L' LED, 'M' motor, 'B' buzzer
  bool on;
};

class FakeHardware : public knotmeter::Hardware {
 public:
  FakeHardware() { std::memset(eeprom, 0xFF, sizeof(eeprom)); }

  bool txWrite(const char* bytes, uint8_t length) override {
    if (length > txFree()) return false;
    txQueue.append(bytes, length);
    return true;
  }
  uint16_t txFree() override { return static_cast<uint16_t>(txCapacity - txQueue.size()); }
  int16_t rxRead() override {
    if (rx.empty()) return knotmeter::kRxEmpty;
    const int16_t value = rx.front();
    rx.pop_front();
    return value;
  }
  uint8_t eepromRead(uint16_t address) override {
    if (eepromBusy()) eepromMisuse++;
    return eeprom[address];
  }
  void eepromWriteStart(uint16_t address, uint8_t value) override {
    if (eepromBusy()) eepromMisuse++;
    eeprom[address] = value;
    eepromWrites++;
    eepromWriting = true;
    eepromDoneAtUs = now + kEepromWriteUs;
  }
  bool eepromBusy() override {
    if (eepromWriting && static_cast<int32_t>(now - eepromDoneAtUs) >= 0) eepromWriting = false;
    return eepromWriting;
  }
  uint32_t nowUs() override { return now; }
  void setSampleRate(uint16_t rate) override {
    rateHz = rate;
    rateCalls++;
  }
  uint16_t entropy() override {
    entropyCalls++;
    if (entropyValues.empty()) return 0;
    return entropyValues[(entropyCalls - 1) % entropyValues.size()];
  }
  bool thumbButtonDown() override { return buttonDown; }
  void setLed(bool on) override { setPin('L', on, led); }
  void setMotor(bool on) override { setPin('M', on, motor); }
  void setBuzzer(bool on) override { setPin('B', on, buzzer); }

  // The link: `bytes` leave the transmit buffer.
  void drain(size_t bytes) {
    if (bytes > txQueue.size()) bytes = txQueue.size();
    wire.append(txQueue, 0, bytes);
    txQueue.erase(0, bytes);
  }

  uint16_t txCapacity = 255;  // the AVR build's 256-byte ring
  std::string txQueue;        // queued, not yet sent
  std::string wire;           // sent
  std::deque<int16_t> rx;
  uint8_t eeprom[1024];
  int eepromWrites = 0;
  int eepromMisuse = 0;  // reads or writes while a write was in progress
  bool eepromWriting = false;
  uint32_t eepromDoneAtUs = 0;
  uint32_t now = 0;
  uint16_t rateHz = 0;
  int rateCalls = 0;
  std::vector<uint16_t> entropyValues;
  int entropyCalls = 0;
  bool led = false, motor = false, buzzer = false;
  bool buttonDown = false;  // the thumb button's pin, as the core reads it (not debounced)
  std::vector<PinChange> pinChanges;

 private:
  void setPin(char pin, bool on, bool& state) {
    if (on != state) pinChanges.push_back(PinChange{now, pin, on});
    state = on;
  }
};

inline std::string checksumHex(const std::string& body) {
  unsigned sum = 0;
  for (char c : body) sum ^= static_cast<unsigned char>(c);
  char hex[3];
  std::snprintf(hex, sizeof(hex), "%02X", sum);
  return hex;
}

inline std::string frame(const std::string& body) { return "$" + body + "*" + checksumHex(body); }

// "$BODY*HH" with a correct checksum -> "BODY"; anything else -> "!bad:<line>".
inline std::string unframe(const std::string& line) {
  if (line.size() < 4 || line[0] != '$' || line[line.size() - 3] != '*') return "!bad:" + line;
  const std::string body = line.substr(1, line.size() - 4);
  if (line.substr(line.size() - 2) != checksumHex(body)) return "!bad:" + line;
  return body;
}

class TestDevice {
 public:
  explicit TestDevice(const knotmeter::SensorProfile& sensor = knotmeter::kFsrProfile, uint32_t baud = 115200)
      : sensor_(sensor), baud_(baud) {}

  void boot() {
    hw.txQueue.clear();
    hw.wire.clear();
    hw.rx.clear();
    hw.now = 0;
    hw.eepromWriting = false;
    wireRead_ = 0;
    lastSampleUs = 0;
    conversionRead_ = false;
    core.reset(new knotmeter::Knotmeter(hw, sensor_, baud_, buildCeiling(sensor_)));
    core->begin(thumbButtonHeld);
  }

  // A reset: the EEPROM stays, everything else starts again.
  void reboot() { boot(); }

  // Held at the next boot (the board reads it before the core begins).
  bool thumbButtonHeld = false;

  uint32_t periodUs() const { return 1000000UL / hw.rateHz; }

  // One sample at the next tick of the sample clock, then a main-loop pass.
  // hx711: with `fresh`, a conversion of `raw` is read half a period before the
  // tick (and handed to the core, then a main-loop pass); without, the tick
  // repeats the last conversion (pass the same `raw`). As on the AVR board, a
  // tick before the first conversion since boot takes no sample: the clock only
  // moves on and the main loop runs.
  void sample(int32_t raw, bool fresh = true, uint16_t lostBefore = 0) {
    const uint32_t tickUs = lastSampleUs + periodUs();
    if (fresh && isHx711()) {
      hw.now = tickUs - periodUs() / 2;
      conversion(raw);
    }
    lastSampleUs = tickUs;
    hw.now = tickUs;
    if (isHx711() && !conversionRead_) {
      core->update();
      return;
    }
    knotmeter::Sample s;
    s.tUs = tickUs;
    s.raw = raw;
    s.lostBefore = lostBefore;
    core->onSample(s);
    core->update();
  }
  void samples(int count, int32_t raw, bool fresh = true) {
    for (int i = 0; i < count; i++) sample(raw, fresh);
  }

  // hx711: a conversion read now (hw.now), between ticks; the next tick carries
  // it. Then a main-loop pass.
  void conversion(int32_t raw) {
    knotmeter::Conversion c;
    c.raw = raw;
    c.readUs = hw.now;
    c.sampleUs = lastSampleUs + periodUs();
    conversionRead_ = true;
    core->onConversion(c);
    core->update();
  }

  bool isHx711() const { return sensor_.kind == knotmeter::kSensorHx711; }

  // Main-loop passes over `us` of device time (no samples).
  void run(uint32_t us, uint32_t stepUs = 100) {
    for (uint32_t t = 0; t < us; t += stepUs) {
      hw.now += stepUs;
      core->update();
    }
  }

  void hostSends(const std::string& bytes) {
    for (unsigned char c : bytes) hw.rx.push_back(c);
  }

  // Sends `$body*HH\n` and runs the main loop until a reply is out (at most
  // 100 ms of device time); returns the lines sent meanwhile, unframed.
  // Whatever was sent before is read and dropped first.
  std::vector<std::string> command(const std::string& body) { return exchange(frame(body) + "\n"); }
  std::vector<std::string> exchange(const std::string& bytes) {
    lines();
    hostSends(bytes);
    const uint32_t start = hw.now;
    std::vector<std::string> replies;
    while (hw.now - start < 100000 && replies.empty()) {
      core->update();
      replies = lines();
      if (replies.empty()) hw.now += 100;
    }
    lastReplyAfterUs = hw.now - start;
    return replies;
  }

  // New complete lines sent since the last call (the link drains everything),
  // unframed; S lines included.
  std::vector<std::string> lines() {
    hw.drain(hw.txQueue.size());
    std::vector<std::string> out;
    for (;;) {
      const size_t end = hw.wire.find('\n', wireRead_);
      if (end == std::string::npos) break;
      out.push_back(unframe(hw.wire.substr(wireRead_, end - wireRead_)));
      wireRead_ = end + 1;
    }
    return out;
  }

  std::unique_ptr<knotmeter::Knotmeter> core;
  FakeHardware hw;
  uint32_t lastSampleUs = 0;
  uint32_t lastReplyAfterUs = 0;

 private:
  const knotmeter::SensorProfile& sensor_;
  uint32_t baud_;
  size_t wireRead_ = 0;
  bool conversionRead_ = false;  // since boot
};

inline bool startsWith(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// Lines that are not S lines.
inline std::vector<std::string> withoutSamples(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const std::string& line : lines) {
    if (!startsWith(line, "S,")) out.push_back(line);
  }
  return out;
}

inline std::vector<std::string> one(const std::string& line) { return std::vector<std::string>{line}; }

}  // namespace testing

#endif
