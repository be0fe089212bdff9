// The local over-pressure alarm: hysteresis, its outputs and their timing, the
// ALARM line's place among the S lines, and that no ALARM is ever lost.
#include <cstdio>
#include <string>
#include <vector>

#include "test_device.h"
#include "test_framework.h"

using namespace knotmeter;
using namespace testing;

namespace {

void bootWithLimit(TestDevice& device, const std::string& limit) {
  device.boot();
  device.run(200000);
  CHECK_EQ(device.command("LIMIT," + limit), one("ACK,LIMIT"));
  device.lines();
  device.hw.pinChanges.clear();
}

std::string alarmLine(bool on, uint32_t tUs, int32_t raw) {
  return "ALARM," + std::string(on ? "1" : "0") + "," + std::to_string(tUs) + "," + std::to_string(raw);
}

std::vector<std::string> alarms(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const std::string& line : lines) {
    if (startsWith(line, "ALARM,")) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST(alarm_switches_on_at_on_and_off_at_off) {
  TestDevice device;
  bootWithLimit(device, "600,550");
  std::vector<std::string> expected;
  const int32_t raws[] = {500, 599, 600, 700, 551, 550, 551, 599, 600, 0, 1023};
  const bool switches[] = {false, false, true, false, false, true, false, false, true, true, true};
  bool on = false;
  std::vector<std::string> seen;
  for (size_t i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
    device.sample(raws[i]);
    if (switches[i]) {
      on = !on;
      expected.push_back(alarmLine(on, device.lastSampleUs, raws[i]));
    }
    CHECK_EQ(device.core->alarmOn(), on);
    for (const std::string& line : alarms(device.lines())) seen.push_back(line);
  }
  CHECK_EQ(seen, expected);
}

TEST(hysteresis_band_causes_no_chatter) {
  TestDevice device;
  bootWithLimit(device, "600,550");
  for (int i = 0; i < 200; i++) device.sample(i % 2 ? 599 : 551);
  CHECK(alarms(device.lines()).empty());
  device.sample(600);
  for (int i = 0; i < 200; i++) device.sample(i % 2 ? 599 : 551);
  CHECK_EQ(alarms(device.lines()).size(), 1u);
}

TEST(alarm_line_comes_before_the_s_line_of_its_sample) {
  TestDevice device;
  bootWithLimit(device, "600,550");
  device.sample(100);
  device.lines();
  device.sample(650);
  const uint32_t t = device.lastSampleUs;
  const std::vector<std::string> lines = device.lines();
  CHECK_EQ(lines, (std::vector<std::string>{alarmLine(true, t, 650), "S,1," + std::to_string(t) + ",650"}));
}

TEST(outputs_switch_at_the_crossing_sample) {
  TestDevice device;
  bootWithLimit(device, "600,550");
  device.samples(3, 300);
  device.sample(601);
  const uint32_t onAt = device.lastSampleUs;
  device.samples(3, 580);
  device.sample(540);
  const uint32_t offAt = device.lastSampleUs;
  const std::vector<PinChange>& changes = device.hw.pinChanges;
  CHECK_EQ(changes.size(), 6u);
  for (size_t i = 0; i < changes.size(); i++) {
    // Switched while handling the sample itself: well within one sample period + 1 ms
    // of the input crossing the threshold (which happened after the sample before).
    CHECK_EQ(changes[i].tUs, i < 3 ? onAt : offAt);
    CHECK_EQ(changes[i].on, i < 3);
  }
  CHECK(!device.hw.led && !device.hw.motor && !device.hw.buzzer);
}

TEST(feedback_mask_chooses_the_outputs) {
  TestDevice device;
  bootWithLimit(device, "600,550");
  CHECK_EQ(device.command("FEEDBACK,2"), one("ACK,FEEDBACK"));
  device.sample(700);
  CHECK(!device.hw.led && device.hw.motor && !device.hw.buzzer);
  CHECK_EQ(device.command("FEEDBACK,5"), one("ACK,FEEDBACK"));  // changes apply at once
  CHECK(device.hw.led && !device.hw.motor && device.hw.buzzer);
  CHECK_EQ(device.command("FEEDBACK,0"), one("ACK,FEEDBACK"));
  CHECK(!device.hw.led && !device.hw.motor && !device.hw.buzzer);
  device.sample(100);
  // The ALARM line goes out whatever the mask.
  CHECK_EQ(alarms(device.lines()), one(alarmLine(false, device.lastSampleUs, 100)));
}

TEST(limit_0_0_cannot_turn_a_ringing_alarm_off) {
  TestDevice device;
  bootWithLimit(device, "600,550");
  device.sample(900);
  CHECK(device.core->alarmOn());
  CHECK_EQ(device.command("LIMIT,0,0"), one("NAK,LIMIT,ceiling"));
  CHECK_EQ(device.command("LIMIT,1000,950"), one("NAK,LIMIT,ceiling"));
  device.samples(10, 900);
  CHECK(device.core->alarmOn());
  CHECK(alarms(device.lines()).empty());
}

TEST(a_blank_eeprom_sounds_the_alarm_at_the_ceiling) {
  TestDevice device;
  device.boot();
  device.lines();
  device.sample(kBuildCeilingFsr - 1);
  CHECK(!device.core->alarmOn());
  device.sample(kBuildCeilingFsr);
  CHECK(device.core->alarmOn());
  CHECK_EQ(alarms(device.lines()), one(alarmLine(true, device.lastSampleUs, kBuildCeilingFsr)));
  CHECK(device.hw.led && device.hw.motor && device.hw.buzzer);
}

TEST(new_limits_apply_from_the_next_sample) {
  TestDevice device;
  bootWithLimit(device, "600,550");
  device.sample(700);
  CHECK_EQ(device.command("LIMIT,760,720"), one("ACK,LIMIT"));
  device.sample(700);  // 700 <= 720: off under the new limits
  CHECK(!device.core->alarmOn());
  device.sample(759);
  CHECK(!device.core->alarmOn());
  device.sample(760);
  CHECK(device.core->alarmOn());
}

TEST(alarm_works_without_streaming_and_after_a_reboot) {
  TestDevice device;
  bootWithLimit(device, "600,550");
  CHECK_EQ(device.command("STREAM,0"), one("ACK,STREAM"));
  device.sample(610);
  CHECK_EQ(device.lines(), one(alarmLine(true, device.lastSampleUs, 610)));
  device.reboot();  // no host command after this: the thresholds come from EEPROM
  device.lines();
  device.hw.pinChanges.clear();
  device.sample(599);
  device.sample(600);
  CHECK(device.core->alarmOn());
  CHECK(device.hw.led && device.hw.motor && device.hw.buzzer);
  CHECK_EQ(alarms(device.lines()), one(alarmLine(true, device.lastSampleUs, 600)));
}

TEST(hx711_alarm_uses_tared_signed_counts) {
  TestDevice device(kHx711Profile);
  device.boot();
  device.samples(16, -40000);
  CHECK_EQ(device.command("TARE"), one("ACK,TARE"));
  CHECK_EQ(device.command("LIMIT,250000,200000"), one("ACK,LIMIT"));
  device.lines();
  device.sample(209999);  // 249999 above the tare
  CHECK(!device.core->alarmOn());
  device.sample(210000);
  CHECK(device.core->alarmOn());
  device.sample(160000);
  CHECK(!device.core->alarmOn());
}

// hx711: the alarm is judged on each conversion as it is read, not at the next
// tick: the outputs switch at the read, and the ALARM line, with the t_us of the
// sample that will carry the conversion, goes out before that sample's S line.
TEST(hx711_alarm_switches_when_the_conversion_is_read) {
  TestDevice device(kHx711Profile);
  bootWithLimit(device, "1000,900");
  device.sample(500);
  device.lines();
  const uint32_t readUs = device.lastSampleUs + 3000;  // 3 ms into the period
  const uint32_t tickUs = device.lastSampleUs + device.periodUs();
  device.hw.now = readUs;
  device.conversion(1500);
  CHECK(device.core->alarmOn());
  CHECK(device.hw.led && device.hw.motor && device.hw.buzzer);
  CHECK_EQ(device.hw.pinChanges.size(), 3u);
  for (const PinChange& change : device.hw.pinChanges) CHECK_EQ(change.tUs, readUs);
  CHECK_EQ(device.lines(), one(alarmLine(true, tickUs, 1500)));  // no S line yet
  device.sample(1500, false);  // the tick that carries it
  CHECK_EQ(device.lines(), one("S,1," + std::to_string(tickUs) + ",1500"));
  device.hw.pinChanges.clear();
  device.hw.now = device.lastSampleUs + 11000;
  device.conversion(900);
  CHECK(!device.core->alarmOn());
  CHECK_EQ(device.hw.pinChanges.size(), 3u);
  device.sample(900, false);
  CHECK_EQ(device.lines(), (std::vector<std::string>{alarmLine(false, device.lastSampleUs, 900),
                                                     "S,2," + std::to_string(device.lastSampleUs) + ",900"}));
}

// A tick may take its sample just before a conversion is read, and that sample
// reach the core after the conversion: it must not judge the alarm on its older
// value (the core judges on the last conversion read).
TEST(hx711_a_sample_of_an_older_conversion_does_not_undo_the_alarm) {
  TestDevice device(kHx711Profile);
  bootWithLimit(device, "1000,900");
  device.sample(500);
  device.lines();
  const uint32_t t1 = device.lastSampleUs + device.periodUs();
  const uint32_t t2 = t1 + device.periodUs();
  device.hw.now = t1 + 20;
  Conversion conversion;
  conversion.raw = 1500;
  conversion.readUs = t1 + 20;
  conversion.sampleUs = t2;  // the tick at t1 has already taken its sample
  device.core->onConversion(conversion);
  Sample older;
  older.tUs = t1;
  older.raw = 500;
  older.lostBefore = 0;
  device.core->onSample(older);
  device.core->update();
  device.lastSampleUs = t1;
  device.sample(1500, false);
  CHECK(device.core->alarmOn());
  CHECK_EQ(device.lines(), (std::vector<std::string>{alarmLine(true, t2, 1500), "S,1," + std::to_string(t1) + ",500",
                                                     "S,2," + std::to_string(t2) + ",1500"}));
}

// Judged on conversions, yet LIMIT and TARE apply from the next sample on, also
// while the HX711 is silent (a higher LIMIT must turn a ringing alarm off).
TEST(hx711_limit_and_tare_apply_from_the_next_sample_without_a_new_conversion) {
  TestDevice device(kHx711Profile);
  bootWithLimit(device, "1000,900");
  device.samples(16, 1500);
  CHECK(device.core->alarmOn());
  CHECK_EQ(device.command("LIMIT,3000,2000"), one("ACK,LIMIT"));
  CHECK(device.core->alarmOn());  // until the next sample
  device.sample(1500, false);
  CHECK(!device.core->alarmOn());
  CHECK_EQ(device.lines(), (std::vector<std::string>{alarmLine(false, device.lastSampleUs, 1500),
                                                     "S,16," + std::to_string(device.lastSampleUs) + ",1500"}));
  CHECK_EQ(device.command("LIMIT,1000,900"), one("ACK,LIMIT"));
  device.sample(1500, false);
  CHECK(device.core->alarmOn());
  CHECK_EQ(alarms(device.lines()), one(alarmLine(true, device.lastSampleUs, 1500)));
  CHECK_EQ(device.command("TARE"), one("ACK,TARE"));  // offset 1500: the reading becomes 0
  device.sample(1500, false);
  CHECK(!device.core->alarmOn());
  CHECK_EQ(device.lines(), (std::vector<std::string>{alarmLine(false, device.lastSampleUs, 0),
                                                     "S,18," + std::to_string(device.lastSampleUs) + ",0"}));
}

// The worst case: the alarm switching on every sample at the highest rate, a
// link draining at exactly the nominal speed, and the host sending INFO now
// and then. Every switch must reach the host, in order, with at most one S line
// sent after the switching sample ahead of its ALARM.
TEST(no_alarm_is_lost_at_the_highest_rate) {
  TestDevice device;
  bootWithLimit(device, "600,599");
  const uint16_t rate = device.core->maxRateHz();
  CHECK_EQ(device.command("RATE," + std::to_string(rate)), one("ACK,RATE"));
  device.lastSampleUs = 4000000000UL;
  device.lines();
  device.hw.wire.clear();
  const double bytesPerSample = 115200 / 10.0 / rate;
  double credit = 0;
  std::vector<std::string> wire;
  uint8_t maxPending = 0;
  long switches = 0;
  for (long i = 0; i < 10L * rate; i++) {
    if (i % 97 == 0) device.hostSends(frame("INFO") + "\n");
    const bool wasOn = device.core->alarmOn();
    device.sample(i % 2 ? 599 : 600);
    if (device.core->alarmOn() != wasOn) switches++;
    if (device.core->pendingEvents() > maxPending) maxPending = device.core->pendingEvents();
    credit += bytesPerSample;
    const size_t bytes = static_cast<size_t>(credit);
    credit -= static_cast<double>(bytes);
    device.hw.drain(bytes);
    size_t start = 0;
    for (size_t end; (end = device.hw.wire.find('\n', start)) != std::string::npos; start = end + 1) {
      wire.push_back(unframe(device.hw.wire.substr(start, end - start)));
    }
    device.hw.wire.erase(0, start);
  }
  device.run(100000);  // the rest drains
  device.hw.drain(device.hw.txQueue.size());
  size_t start = 0;
  for (size_t end; (end = device.hw.wire.find('\n', start)) != std::string::npos; start = end + 1) {
    wire.push_back(unframe(device.hw.wire.substr(start, end - start)));
  }
  CHECK_EQ(device.core->droppedEvents(), 0);
  CHECK(maxPending < Knotmeter::kMaxPendingEvents);
  long alarmLines = 0;
  long hellos = 0;
  unsigned long lastSampleT = 0;
  int expectOn = 1;
  for (const std::string& line : wire) {
    CHECK(line[0] != '!');
    unsigned long t = 0;
    int on = 0;
    long raw = 0;
    if (std::sscanf(line.c_str(), "ALARM,%d,%lu,%ld", &on, &t, &raw) == 3) {
      CHECK_EQ(on, expectOn);
      expectOn = 1 - expectOn;
      alarmLines++;
      // No S line of a sample after this one went out before it... except at most one.
      CHECK(lastSampleT <= t + 1000000UL / rate);
    } else if (startsWith(line, "S,")) {
      long seq;
      std::sscanf(line.c_str(), "S,%ld,%lu", &seq, &lastSampleT);
    } else if (startsWith(line, "HELLO,")) {
      hellos++;
    }
  }
  CHECK_EQ(alarmLines, switches);
  CHECK_EQ(hellos, (10L * rate + 96) / 97);
}

TEST(an_alarm_without_transmit_room_waits_and_goes_before_later_samples) {
  TestDevice device;
  bootWithLimit(device, "600,550");
  device.hw.txQueue.assign(245, ' ');  // a stalled link: 10 bytes free
  device.sample(650);
  CHECK(device.hw.led);  // the outputs do not wait for the link
  CHECK_EQ(device.core->pendingEvents(), 1);
  device.sample(660);  // no S line may overtake the waiting ALARM
  device.hostSends(frame("INFO") + "\n");
  device.core->update();  // nor may a reply
  CHECK_EQ(device.hw.txQueue.size(), 245u);
  const uint32_t alarmAt = device.lastSampleUs - device.periodUs();
  device.hw.txQueue.clear();
  device.sample(670);
  CHECK_EQ(device.core->pendingEvents(), 0);
  std::vector<std::string> lines = device.lines();
  CHECK_EQ(lines.at(0), alarmLine(true, alarmAt, 650));
  CHECK_EQ(lines.size(), 3u);
  CHECK(startsWith(lines.at(1), "S,2,"));  // S,0 and S,1 were not sent: a seq gap
  CHECK(startsWith(lines.at(2), "HELLO,"));  // the reply, once the ALARM was out
}
