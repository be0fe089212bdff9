#include "knotmeter.h"

#include "device_id.h"

namespace knotmeter {

const char kFirmwareVersion[] = "1.2.0";

const Knotmeter::CommandSpec Knotmeter::kCommands[kCommandCount] = {
    {"INFO", 0}, {"STREAM", 1}, {"RATE", 1}, {"LIMIT", 2}, {"FEEDBACK", 1}, {"ZONE", 1}, {"TARE", 0}, {"CEILING", 1},
};

namespace {

const uint32_t kBlinkHalfPeriodUs[4] = {0, 0, 500000UL, 125000UL};  // zone 2: 1 Hz, zone 3: 4 Hz
const uint8_t kMaxEchoedNameBytes = 16;

// A command name we can repeat in `NAK,<CMD>,unknown` without breaking the framing.
bool echoable(const char* name, uint8_t length) {
  if (length == 0 || length > kMaxEchoedNameBytes) return false;
  for (uint8_t i = 0; i < length; i++) {
    const char c = name[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool sameName(const char* text, uint8_t length, const char* name) {
  uint8_t i = 0;
  for (; i < length; i++) {
    if (name[i] == '\0' || name[i] != text[i]) return false;
  }
  return name[i] == '\0';
}

}  // namespace

Knotmeter::Knotmeter(Hardware& hardware, const SensorProfile& sensor, uint32_t baud, int32_t buildCeilingRaw)
    : hardware_(hardware),
      sensor_(sensor),
      maxRateHz_(knotmeter::maxRateHz(sensor, baud)),
      buildCeilingRaw_(buildCeilingRaw),
      deviceId_(0),
      settings_(kDefaultSettings),
      ceilingUnlocked_(false),
      eepromDirty_(false),
      ackAfterSave_(0),
      rateHz_(sensor.defaultRateHz < maxRateHz_ ? sensor.defaultRateHz : maxRateHz_),
      streaming_(true),
      nextSeq_(0),
      alarmOn_(false),
      feedbackMask_(kFeedbackLed | kFeedbackMotor | kFeedbackBuzzer),
      zone_(0),
      blinkOn_(false),
      nextBlinkUs_(0),
      ledOut_(false),
      motorOut_(false),
      buzzerOut_(false),
      haveConversion_(false),
      lastConversion_(0),
      lastConversionUs_(0),
      nodataActive_(false),
      railRun_(false),
      railActive_(false),
      railSinceUs_(0),
      tareNext_(0),
      tareCount_(0),
      buttonPin_(false),
      buttonPinSinceUs_(0),
      buttonDown_(false),
      pressStarting_(false),
      pressStartUs_(0),
      nextMarkSeq_(0),
      pendingHead_(0),
      pendingCount_(0),
      droppedEvents_(0) {}

void Knotmeter::begin(bool thumbButtonHeld) {
  ceilingUnlocked_ = thumbButtonHeld;
  // Held now (the boot gesture, or a press under way): down already, so it makes no MARK.
  buttonPin_ = buttonDown_ = hardware_.thumbButtonDown();
  loadEeprom();
  hardware_.setLed(false);
  hardware_.setMotor(false);
  hardware_.setBuzzer(false);
  sendHello();
  // t_us counts from here: the sampling timer starts with the clock at 0, and
  // FAULT,nodata's 500 ms with it while no conversion has been read.
  lastConversionUs_ = 0;
  hardware_.setSampleRate(rateHz_);
}

// ---- EEPROM ---------------------------------------------------------------

void Knotmeter::loadEeprom() {
  uint8_t stored[kEepromImageBytes];
  for (uint8_t i = 0; i < kEepromImageBytes; i++) stored[i] = hardware_.eepromRead(i);
  if (!decodeIdentity(stored, deviceId_)) {
    uint32_t pool = 0;
    for (uint8_t i = 0; i < kEntropySamples; i++) pool = mixEntropy(pool, hardware_.entropy());
    deviceId_ = deviceIdFromPool(pool);
  }
  ceiling_.stored = decodeCeiling(stored, sensor_, ceiling_.raw);
  if (!ceiling_.stored) ceiling_.raw = buildCeilingRaw_;
  if (!decodeSettings(stored, sensor_, settings_)) settings_ = kDefaultSettings;
  // No record, 1.1.0's alarm off (0,0), or a limit above the ceiling: the alarm
  // sounds at the ceiling until a host sets a LIMIT under it. The tare stays.
  if (!withinCeiling(settings_.limitOn, settings_.limitOff, ceiling_.raw)) defaultLimits(ceiling_.raw, settings_);
  encodeImage(deviceId_, settings_, ceiling_, sensor_.kind, image_);
  for (uint8_t i = 0; i < kEepromImageBytes; i++) {
    if (image_[i] != stored[i]) eepromDirty_ = true;
  }
}

void Knotmeter::saveSettings(const char* ackName) {
  encodeImage(deviceId_, settings_, ceiling_, sensor_.kind, image_);
  eepromDirty_ = true;
  ackAfterSave_ = ackName;
  syncEeprom();
}

// One byte at a time, only the bytes that differ, CRCs last in each record: a
// write cut short by a reset leaves a record whose CRC fails, so it reads as
// defaults rather than as half-old, half-new values.
void Knotmeter::syncEeprom() {
  if (eepromDirty_) {
    if (hardware_.eepromBusy()) return;
    for (uint8_t i = 0; i < kEepromImageBytes; i++) {
      if (hardware_.eepromRead(i) != image_[i]) {
        hardware_.eepromWriteStart(i, image_[i]);
        return;
      }
    }
    eepromDirty_ = false;
  }
  if (ackAfterSave_ != 0) {
    LineBuilder line("ACK");
    line.field(ackAfterSave_);
    if (send(line)) ackAfterSave_ = 0;
  }
}

// ---- host input -------------------------------------------------------------

void Knotmeter::update() {
  flushEvents();
  const uint32_t nowUs = hardware_.nowUs();
  // Locked for good until the next boot (checked long before the clock could wrap).
  if (ceilingUnlocked_ && nowUs >= kCeilingUnlockUs) ceilingUnlocked_ = false;
  checkNodata(nowUs);
  checkButton(nowUs);
  syncEeprom();
  tickBlink(nowUs);
  handleInput();
}

void Knotmeter::handleInput() {
  // At most one line a call, and only with room for its reply: the host's
  // bytes wait in the receive buffer meanwhile (so replies keep their order,
  // and a LIMIT's ACK comes after its EEPROM write, before the next reply).
  for (uint8_t budget = kMaxLineBytes; budget > 0; budget--) {
    if (ackAfterSave_ != 0 || hardware_.txFree() < kReservedTxBytes) return;
    const int16_t input = hardware_.rxRead();
    if (input == kRxEmpty) return;
    const LineReader::Result result = reader_.feed(input);
    if (result != LineReader::kPending) {
      handleLine(result);
      return;
    }
  }
}

void Knotmeter::handleLine(LineReader::Result result) {
  if (result == LineReader::kOverlong) return nak("?", "syntax");
  if (result == LineReader::kDamaged) return nak("?", "checksum");
  if (reader_.lineLength() == 0) return;  // an empty line (a terminal's Enter) asks nothing

  const char* body = 0;
  uint8_t bodyLength = 0;
  switch (checkFrame(reader_.line(), reader_.lineLength(), &body, &bodyLength)) {
    case kFrameOk:
      break;
    case kFrameNotPrintable:
      return nak("?", "syntax");
    case kFrameNoChecksum:
    case kFrameBadChecksum:
      return nak("?", "checksum");
  }

  Fields fields;
  splitFields(body, bodyLength, fields);
  const char* name = fields.text[0];
  const uint8_t nameLength = fields.length[0];
  if (nameLength == 0) return nak("?", "syntax");

  uint8_t command = 0;
  while (command < kCommandCount && !sameName(name, nameLength, kCommands[command].name)) command++;
  if (command == kCommandCount) {
    if (echoable(name, nameLength)) return nak(name, nameLength, "unknown");
    return nak("?", "unknown");
  }

  const CommandSpec& spec = kCommands[command];
  if (fields.tooMany || fields.count != spec.valueCount + 1) return nak(spec.name, "syntax");
  int32_t values[Fields::kMax - 1] = {0, 0, 0};
  bool outOfRange = false;
  for (uint8_t i = 0; i < spec.valueCount; i++) {
    const NumberStatus status = parseInteger(fields.text[i + 1], fields.length[i + 1], values[i]);
    if (status == kNumberSyntax) return nak(spec.name, "syntax");
    if (status == kNumberRange) outOfRange = true;
  }
  if (outOfRange) return nak(spec.name, "range");
  runCommand(static_cast<Command>(command), values);
}

void Knotmeter::runCommand(Command command, const int32_t* values) {
  const char* name = kCommands[command].name;
  switch (command) {
    case kInfo:
      sendHello();
      return;
    case kStream:
      if (values[0] != 0 && values[0] != 1) return nak(name, "range");
      streaming_ = values[0] == 1;
      return ack(name);
    case kRate:
      if (values[0] < kMinRateHz || values[0] > maxRateHz_) return nak(name, "range");
      rateHz_ = static_cast<uint16_t>(values[0]);
      hardware_.setSampleRate(rateHz_);
      return ack(name);
    case kLimit:
      if (!validLimits(values[0], values[1], sensor_)) return nak(name, "range");
      // Above the ceiling, or off (which would move it out of reach): refused.
      if (!withinCeiling(values[0], values[1], ceiling_.raw)) return nak(name, "ceiling");
      // The new thresholds apply from the next sample; the ACK waits for the EEPROM.
      settings_.limitOn = values[0];
      settings_.limitOff = values[1];
      return saveSettings(name);
    case kFeedback:
      if (values[0] < 0 || values[0] > 7) return nak(name, "range");
      feedbackMask_ = static_cast<uint8_t>(values[0]);
      applyOutputs();
      return ack(name);
    case kZone:
      if (values[0] < 0 || values[0] > 3) return nak(name, "range");
      setZone(static_cast<uint8_t>(values[0]));
      return ack(name);
    case kTare: {
      if (sensor_.kind != kSensorHx711) return ack(name);  // fsr: nothing to zero
      // Refused while the HX711 has not delivered 16 conversions since boot or
      // since its last FAULT,nodata.
      if (tareCount_ < kTareSamples) return nak(name, "range");
      int32_t sum = 0;
      for (uint8_t i = 0; i < kTareSamples; i++) sum += tareRing_[i];
      // Rounded to nearest, halves away from zero (no reliance on >> of negatives).
      settings_.tareOffset = sum >= 0 ? (sum + kTareSamples / 2) / kTareSamples
                                      : -((-sum + kTareSamples / 2) / kTareSamples);
      return saveSettings(name);
    }
    case kCeiling:
      if (!ceilingUnlocked_) return nak(name, "locked");
      if (!validCeiling(values[0], sensor_)) return nak(name, "range");
      ceiling_.raw = values[0];
      ceiling_.stored = true;
      if (settings_.limitOn > ceiling_.raw) defaultLimits(ceiling_.raw, settings_);
      return saveSettings(name);
    case kCommandCount:
      return;
  }
}

// ---- output lines -------------------------------------------------------------

bool Knotmeter::send(LineBuilder& line) {
  const uint8_t length = line.finish();
  return length != 0 && hardware_.txWrite(line.data(), length);
}

void Knotmeter::sendHello() {
  LineBuilder line("HELLO");
  line.unsignedField(1)
      .field(kFirmwareVersion)
      .hexField(deviceId_)
      .field(sensor_.name)
      .unsignedField(rateHz_)
      .signedField(settings_.limitOn)
      .signedField(settings_.limitOff)
      .signedField(ceiling_.raw);
  send(line);
}

void Knotmeter::ack(const char* name) {
  LineBuilder line("ACK");
  line.field(name);
  send(line);
}

void Knotmeter::nak(const char* name, const char* reason) {
  LineBuilder line("NAK");
  line.field(name).field(reason);
  send(line);
}

void Knotmeter::nak(const char* name, uint8_t nameLength, const char* reason) {
  LineBuilder line("NAK");
  line.field(name, nameLength).field(reason);
  send(line);
}

bool Knotmeter::sendEvent(const Event& event) {
  if (event.kind == kEventAlarm) {
    LineBuilder line("ALARM");
    line.unsignedField(event.on ? 1 : 0).unsignedField(event.tUs).signedField(event.raw);
    return send(line);
  }
  if (event.kind == kEventMark) {
    LineBuilder line("MARK");
    line.unsignedField(static_cast<uint16_t>(event.raw)).unsignedField(event.tUs);
    return send(line);
  }
  LineBuilder line("FAULT");
  line.field(event.kind == kEventFaultNodata ? "nodata" : "rail");
  return send(line);
}

// ALARM and FAULT are never dropped for want of transmit space: they wait here,
// in order. Nothing overtakes them: S lines and replies need kReservedTxBytes
// free, far more than a waiting event found.
void Knotmeter::queueEvent(uint8_t kind, bool on, uint32_t tUs, int32_t raw) {
  Event event;
  event.kind = kind;
  event.on = on;
  event.tUs = tUs;
  event.raw = raw;
  if (pendingCount_ == 0 && sendEvent(event)) return;
  if (pendingCount_ == kMaxPendingEvents) {
    droppedEvents_++;
    return;
  }
  pending_[(pendingHead_ + pendingCount_) % kMaxPendingEvents] = event;
  pendingCount_++;
}

void Knotmeter::flushEvents() {
  while (pendingCount_ > 0 && sendEvent(pending_[pendingHead_])) {
    pendingHead_ = static_cast<uint8_t>((pendingHead_ + 1) % kMaxPendingEvents);
    pendingCount_--;
  }
}

// ---- samples ---------------------------------------------------------------------

int32_t Knotmeter::tared(int32_t sensorRaw) const {
  if (sensor_.kind != kSensorHx711) return sensorRaw;
  const int32_t raw = sensorRaw - settings_.tareOffset;  // both 24-bit: no overflow
  if (raw < sensor_.rawMin) return sensor_.rawMin;
  if (raw > sensor_.rawMax) return sensor_.rawMax;
  return raw;
}

void Knotmeter::onSample(const Sample& sample) {
  nextSeq_ = static_cast<uint16_t>(nextSeq_ + sample.lostBefore);
  const uint16_t seq = nextSeq_++;
  const int32_t raw = tared(sample.raw);
  flushEvents();

  if (sensor_.kind == kSensorHx711) {
    // Judged when the conversion was read; judged again here so that a LIMIT or a
    // TARE since then applies from this sample on (and LIMIT,0,0 turns the alarm
    // off while the HX711 is silent). Always on the last conversion read, never
    // on an older one this sample may still carry.
    if (haveConversion_) updateAlarm(sample.tUs, tared(lastConversion_));
  } else {
    checkRail(sample, raw);
    updateAlarm(sample.tUs, raw);
  }
  if (streaming_) sendSampleLine(seq, sample.tUs, raw);
}

void Knotmeter::onConversion(const Conversion& conversion) {
  if (sensor_.kind != kSensorHx711) return;
  flushEvents();
  haveConversion_ = true;
  lastConversion_ = conversion.raw;
  lastConversionUs_ = conversion.readUs;
  nodataActive_ = false;
  tareRing_[tareNext_] = conversion.raw;
  tareNext_ = static_cast<uint8_t>((tareNext_ + 1) % kTareSamples);
  if (tareCount_ < kTareSamples) tareCount_++;
  updateAlarm(conversion.sampleUs, tared(conversion.raw));
}

// hx711: no conversion read for 500 ms of device time (since sampling started,
// if none has been). Checked at every main-loop pass, so it comes on time
// whether or not samples are being taken.
void Knotmeter::checkNodata(uint32_t nowUs) {
  if (sensor_.kind != kSensorHx711 || nodataActive_) return;
  if (nowUs - lastConversionUs_ < kNodataUs) return;
  nodataActive_ = true;
  tareCount_ = 0;  // a tare must come from conversions after the sensor is back
  queueEvent(kEventFaultNodata, true, nowUs, 0);
}

// Debounced on the clock: a press counts once the pin has read low, unchanged, for
// kButtonSettleUs (a bounce train restarts the wait at every edge, so it makes one
// press), and it is dated at its first edge, when the person pressed. A glitch shorter
// than that makes nothing. Checked at every main-loop pass (far more often than 1 ms).
void Knotmeter::checkButton(uint32_t nowUs) {
  const bool pin = hardware_.thumbButtonDown();
  if (pin != buttonPin_) {
    buttonPin_ = pin;
    buttonPinSinceUs_ = nowUs;
    if (pin && !buttonDown_ && !pressStarting_) {
      pressStarting_ = true;
      pressStartUs_ = nowUs;
    }
    return;
  }
  if (nowUs - buttonPinSinceUs_ < kButtonSettleUs) return;
  if (pin != buttonDown_) {
    buttonDown_ = pin;
    if (pin) queueEvent(kEventMark, true, pressStartUs_, nextMarkSeq_++);
  }
  pressStarting_ = false;
}

void Knotmeter::checkRail(const Sample& sample, int32_t raw) {
  if (raw != sensor_.rawMax) {
    railRun_ = false;
    railActive_ = false;
  } else if (!railRun_) {
    railRun_ = true;
    railSinceUs_ = sample.tUs;
  } else if (!railActive_ && sample.tUs - railSinceUs_ >= kRailUs) {
    railActive_ = true;
    queueEvent(kEventFaultRail, true, sample.tUs, raw);
  }
}

void Knotmeter::updateAlarm(uint32_t tUs, int32_t raw) {
  // The thresholds are never 0,0 (off) since 1.2.0: see withinCeiling.
  bool on = alarmOn_;
  if (!alarmOn_ && raw >= settings_.limitOn) {
    on = true;
  } else if (alarmOn_ && raw <= settings_.limitOff) {
    on = false;
  }
  if (on == alarmOn_) return;
  alarmOn_ = on;
  applyOutputs();  // the outputs first: they are the safety net, the line is news
  queueEvent(kEventAlarm, on, tUs, raw);
}

// A sample line is sent only if it leaves the reserve free; otherwise it is not
// sent and the host sees a seq gap. So an S line never overtakes a waiting
// ALARM or FAULT either: one that did not fit means far less room than that.
void Knotmeter::sendSampleLine(uint16_t seq, uint32_t tUs, int32_t raw) {
  LineBuilder line("S");
  line.unsignedField(seq).unsignedField(tUs).signedField(raw);
  const uint8_t length = line.finish();
  if (length == 0 || hardware_.txFree() < static_cast<uint16_t>(length + kReservedTxBytes)) return;
  hardware_.txWrite(line.data(), length);
}

// ---- outputs ---------------------------------------------------------------------

void Knotmeter::setZone(uint8_t zone) {
  if (zone == zone_) return;  // a host repeating its zone must not restart the blink
  zone_ = zone;
  blinkOn_ = true;
  nextBlinkUs_ = hardware_.nowUs() + kBlinkHalfPeriodUs[zone];
  applyOutputs();
}

void Knotmeter::tickBlink(uint32_t nowUs) {
  const uint32_t halfPeriodUs = kBlinkHalfPeriodUs[zone_];
  if (halfPeriodUs == 0) return;
  if (static_cast<int32_t>(nowUs - nextBlinkUs_) < 0) return;
  blinkOn_ = !blinkOn_;
  nextBlinkUs_ += halfPeriodUs;
  // After a stall longer than a half period, restart the rhythm from now.
  if (static_cast<int32_t>(nowUs - nextBlinkUs_) >= 0) nextBlinkUs_ = nowUs + halfPeriodUs;
  applyOutputs();
}

void Knotmeter::applyOutputs() {
  bool zoneLed = false;
  if (zone_ == 1) zoneLed = true;
  if (zone_ >= 2) zoneLed = blinkOn_;
  const bool led = (alarmOn_ && (feedbackMask_ & kFeedbackLed)) || zoneLed;
  const bool motor = alarmOn_ && (feedbackMask_ & kFeedbackMotor);
  const bool buzzer = alarmOn_ && (feedbackMask_ & kFeedbackBuzzer);
  if (led != ledOut_) hardware_.setLed(ledOut_ = led);
  if (motor != motorOut_) hardware_.setMotor(motorOut_ = motor);
  if (buzzer != buzzerOut_) hardware_.setBuzzer(buzzerOut_ = buzzer);
}

}  // namespace knotmeter
