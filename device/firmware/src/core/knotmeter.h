// The firmware core: everything the massager does between the sensor and the
// serial line, as plain C++ behind the Hardware interface. The main loop feeds
// it samples (onSample, in the order the sampling interrupt took them), in the
// hx711 build each HX711 conversion as soon as it is read (onConversion), and
// calls update() as often as it can; none of them ever waits. It answers host
// commands, streams S lines, runs the local over-pressure alarm and its outputs,
// reports sensor faults and keeps LIMIT, the tare, the alarm ceiling and the
// device id in EEPROM.
//
// The alarm's ceiling: no LIMIT may put the alarm's on threshold above it, nor
// turn the alarm off (NAK,LIMIT,ceiling). It is the build's default unless a
// CEILING command stored another, which is accepted only in the first 10 s after
// a boot with the thumb button held (NAK,CEILING,locked otherwise).
//
// The thumb button (optional, to ground): each press, once the pin has been low for
// kButtonSettleUs with no bounce, is a MARK line carrying the device time the press
// began and the presses counted since boot. A button already held when the firmware
// starts (the boot gesture that unlocks CEILING) is no press: only its release and a
// new press make one.
//
// The alarm is judged on each new reading of the sensor as soon as the chip has
// it: every sample in the fsr build (the ADC converts at the tick), every
// conversion in the hx711 build (the HX711 converts on its own clock, so a
// sample can only repeat the last conversion read). In the hx711 build the
// sampling interrupt takes no sample before the first conversion since boot:
// there is nothing to report yet.
#ifndef KNOTMETER_KNOTMETER_H
#define KNOTMETER_KNOTMETER_H

#include <stdint.h>

#include "hardware.h"
#include "line_reader.h"
#include "protocol.h"
#include "rings.h"
#include "sensor.h"
#include "settings.h"

namespace knotmeter {

extern const char kFirmwareVersion[];

class Knotmeter {
 public:
  // Transmit space kept free of S lines, so a reply (at most 60 bytes), an
  // ALARM and a FAULT always have room: S lines give way, never these.
  static const uint16_t kReservedTxBytes = 96;
  static const uint32_t kNodataUs = 500000UL;  // HX711 not ready this long: FAULT,nodata
  static const uint32_t kRailUs = 1000000UL;   // FSR at 1023 this long: FAULT,rail
  static const uint8_t kTareSamples = 16;
  static const uint8_t kFeedbackLed = 1, kFeedbackMotor = 2, kFeedbackBuzzer = 4;
  static const uint8_t kMaxPendingEvents = 4;
  static const uint32_t kCeilingUnlockUs = 10000000UL;  // CEILING accepted this long after such a boot
  static const uint32_t kButtonSettleUs = 25000UL;       // the button's pin stable this long: a press or a release

  // `buildCeilingRaw`: the alarm ceiling while none is stored (1 .. the sensor's highest raw).
  Knotmeter(Hardware& hardware, const SensorProfile& sensor, uint32_t baud, int32_t buildCeilingRaw);

  // Loads EEPROM (making the device id on a first boot), sends HELLO, starts sampling.
  // `thumbButtonHeld`: the board saw the thumb button held at power-up (debounced);
  // only then is CEILING accepted, for kCeilingUnlockUs.
  void begin(bool thumbButtonHeld);
  // One sample taken by the sampling timer.
  void onSample(const Sample& sample);
  // hx711: one conversion, just read. The alarm is judged on it here (the outputs
  // switch at once; the ALARM line carries the t_us of the sample that will
  // carry it, and goes before that sample's S line), it counts for TARE and it
  // ends FAULT,nodata. The board takes no sample before the first one.
  void onConversion(const Conversion& conversion);
  // Host input, EEPROM writes, the status LED's blinking, events waiting for room.
  void update();

  uint32_t deviceId() const { return deviceId_; }
  uint16_t rateHz() const { return rateHz_; }
  uint16_t maxRateHz() const { return maxRateHz_; }
  bool streaming() const { return streaming_; }
  bool alarmOn() const { return alarmOn_; }
  const Settings& settings() const { return settings_; }
  const Ceiling& ceiling() const { return ceiling_; }
  bool ceilingUnlocked() const { return ceilingUnlocked_; }
  uint8_t feedbackMask() const { return feedbackMask_; }
  uint8_t zone() const { return zone_; }
  uint16_t nextSeq() const { return nextSeq_; }
  uint16_t nextMarkSeq() const { return nextMarkSeq_; }
  uint8_t pendingEvents() const { return pendingCount_; }
  // ALARM/FAULT lines that found neither transmit space nor a pending slot.
  // The transmit reserve and the link rule keep this at 0; the tests prove it.
  uint16_t droppedEvents() const { return droppedEvents_; }

 private:
  enum EventKind { kEventAlarm, kEventFaultNodata, kEventFaultRail, kEventMark };
  struct Event {
    uint8_t kind;
    bool on;
    uint32_t tUs;
    int32_t raw;  // kEventMark: the press's number
  };
  enum Command { kInfo, kStream, kRate, kLimit, kFeedback, kZone, kTare, kCeiling, kCommandCount };
  struct CommandSpec {
    const char* name;
    uint8_t valueCount;
  };
  static const CommandSpec kCommands[kCommandCount];

  void loadEeprom();
  void saveSettings(const char* ackName);
  void syncEeprom();

  void handleInput();
  void handleLine(LineReader::Result result);
  void runCommand(Command command, const int32_t* values);

  bool send(LineBuilder& line);
  void sendHello();
  void ack(const char* name);
  void nak(const char* name, const char* reason);
  void nak(const char* name, uint8_t nameLength, const char* reason);
  void queueEvent(uint8_t kind, bool on, uint32_t tUs, int32_t raw);
  bool sendEvent(const Event& event);
  void flushEvents();

  void checkButton(uint32_t nowUs);
  void checkRail(const Sample& sample, int32_t raw);
  void checkNodata(uint32_t nowUs);
  void updateAlarm(uint32_t tUs, int32_t raw);
  void sendSampleLine(uint16_t seq, uint32_t tUs, int32_t raw);
  int32_t tared(int32_t sensorRaw) const;

  void setZone(uint8_t zone);
  void tickBlink(uint32_t nowUs);
  void applyOutputs();

  Hardware& hardware_;
  const SensorProfile& sensor_;
  const uint16_t maxRateHz_;
  const int32_t buildCeilingRaw_;

  uint32_t deviceId_;
  Settings settings_;
  Ceiling ceiling_;
  bool ceilingUnlocked_;
  uint8_t image_[kEepromImageBytes];  // what the EEPROM should hold
  bool eepromDirty_;
  const char* ackAfterSave_;  // LIMIT/TARE: ACK once the EEPROM holds it; input waits

  LineReader reader_;

  uint16_t rateHz_;
  bool streaming_;
  uint16_t nextSeq_;

  bool alarmOn_;
  uint8_t feedbackMask_;
  uint8_t zone_;
  bool blinkOn_;
  uint32_t nextBlinkUs_;
  bool ledOut_, motorOut_, buzzerOut_;

  bool haveConversion_;        // hx711: a conversion has been read since boot
  int32_t lastConversion_;     // ... the last one, before tare
  uint32_t lastConversionUs_;  // ... when it was read (0, the start of sampling, before the first)
  bool nodataActive_;
  bool railRun_;
  bool railActive_;
  uint32_t railSinceUs_;

  int32_t tareRing_[kTareSamples];  // the last HX711 conversions read, before tare
  uint8_t tareNext_;
  uint8_t tareCount_;

  // The thumb button: the pin as last read, since when, the debounced state, and the
  // press being confirmed (when its first edge came).
  bool buttonPin_;
  uint32_t buttonPinSinceUs_;
  bool buttonDown_;
  bool pressStarting_;
  uint32_t pressStartUs_;
  uint16_t nextMarkSeq_;

  Event pending_[kMaxPendingEvents];
  uint8_t pendingHead_;
  uint8_t pendingCount_;
  uint16_t droppedEvents_;
};

}  // namespace knotmeter

#endif
