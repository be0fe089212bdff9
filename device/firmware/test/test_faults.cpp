// FAULT,rail (fsr stuck at 1023 for 1 s) and FAULT,nodata (no HX711 conversion
// read for 500 ms): once when the fault starts, again only after it cleared and
// came back. And the hx711 build before its first conversion.
#include <string>
#include <vector>

#include "test_device.h"
#include "test_framework.h"

using namespace knotmeter;
using namespace testing;

namespace {

std::vector<std::string> faults(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const std::string& line : lines) {
    if (startsWith(line, "FAULT,")) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST(rail_fault_after_one_second_at_1023) {
  TestDevice device;
  device.boot();
  device.lines();
  device.sample(1023);  // t = 10 ms: the run starts
  device.samples(99, 1023);  // t = 1000 ms: 990 ms at 1023
  CHECK(faults(device.lines()).empty());
  device.sample(1023);  // 1000 ms since the run started
  CHECK_EQ(faults(device.lines()), one("FAULT,rail"));
  device.samples(500, 1023);
  CHECK(faults(device.lines()).empty());  // once per occurrence
  device.sample(1022);  // cleared
  device.samples(100, 1023);
  CHECK(faults(device.lines()).empty());
  device.sample(1023);
  CHECK_EQ(faults(device.lines()), one("FAULT,rail"));  // came back
}

TEST(rail_fault_needs_an_unbroken_run) {
  TestDevice device;
  device.boot();
  device.lines();
  for (int i = 0; i < 20; i++) {
    device.samples(90, 1023);
    device.sample(1000);
  }
  device.samples(300, 0);  // 0 is an untouched sensor, not a fault
  CHECK(faults(device.lines()).empty());
}

TEST(rail_fault_timing_survives_the_t_us_wrap) {
  TestDevice device;
  device.boot();
  device.lines();
  device.lastSampleUs = 4294967295UL - 500000;
  device.samples(100, 1023);
  CHECK(faults(device.lines()).empty());
  device.sample(1023);
  CHECK_EQ(faults(device.lines()), one("FAULT,rail"));
}

TEST(rail_fault_is_sent_while_not_streaming) {
  TestDevice device;
  device.boot();
  device.lines();
  CHECK_EQ(device.command("STREAM,0"), one("ACK,STREAM"));
  device.samples(101, 1023);
  // 1023 is above any ceiling's thresholds: the alarm sounds too.
  CHECK_EQ(device.lines(), (std::vector<std::string>{"ALARM,1,10000,1023", "FAULT,rail"}));
}

TEST(hx711_build_has_no_rail_fault) {
  TestDevice device(kHx711Profile);
  device.boot();
  device.lines();
  device.samples(200, 8388607);
  CHECK(faults(device.lines()).empty());
}

TEST(nodata_fault_500_ms_after_the_last_conversion_read) {
  TestDevice device(kHx711Profile);
  device.boot();
  device.lines();
  device.sample(1000);  // read at 6.25 ms, carried by the tick at 12.5 ms
  device.samples(39, 1000, false);  // to the tick at 500 ms: 493.75 ms since the read
  CHECK(faults(device.lines()).empty());
  device.run(6200);  // 499.95 ms since the read: checked on the clock, not at ticks
  CHECK(faults(device.lines()).empty());
  device.run(100);  // 500.05 ms
  CHECK_EQ(device.lines(), one("FAULT,nodata"));
  // While it lasts: once only, and the S lines carry on at the set rate with the
  // last conversion read, seq unbroken.
  std::vector<std::string> during;
  for (int i = 0; i < 100; i++) {
    device.sample(1000, false);
    for (const std::string& line : device.lines()) during.push_back(line);
  }
  CHECK(faults(during).empty());
  CHECK_EQ(during.size(), 100u);
  for (size_t i = 0; i < during.size(); i++) {
    CHECK_EQ(during[i], "S," + std::to_string(40 + i) + "," + std::to_string(12500 * (41 + i)) + ",1000");
  }
  device.sample(1000);  // back: a new conversion clears it
  device.samples(39, 1000, false);
  device.run(6200);
  CHECK(faults(device.lines()).empty());
  device.run(100);
  CHECK_EQ(faults(device.lines()), one("FAULT,nodata"));  // and it came back
}

TEST(nodata_fault_when_the_hx711_never_answers) {
  TestDevice device(kHx711Profile);
  device.boot();
  device.lines();
  device.run(499900);  // from the start of sampling (t_us 0, right after HELLO)
  CHECK(device.lines().empty());
  device.run(200);
  CHECK_EQ(device.lines(), one("FAULT,nodata"));
  // No conversion, no sample: the ticks take none, so no S line and no seq.
  device.samples(50, 0, false);
  CHECK(device.lines().empty());
  CHECK_EQ(device.core->nextSeq(), 0);
  CHECK_EQ(device.command("TARE"), one("NAK,TARE,range"));
  device.sample(777);  // the first conversion: sampling starts, seq from 0
  CHECK_EQ(device.lines(), one("S,0," + std::to_string(device.lastSampleUs) + ",777"));
}

TEST(hx711_takes_no_sample_and_judges_no_alarm_before_the_first_conversion) {
  TestDevice device(kHx711Profile);
  device.boot();
  device.samples(16, -200000);  // a bridge that rests at -200000 counts
  CHECK_EQ(device.command("TARE"), one("ACK,TARE"));
  CHECK_EQ(device.command("LIMIT,100000,90000"), one("ACK,LIMIT"));
  device.reboot();  // tare and limits from EEPROM: 0 - tare would be 200000, over the limit
  CHECK_EQ(device.lines().size(), 1u);  // HELLO
  device.hw.pinChanges.clear();
  device.samples(20, 0, false);  // 250 ms of ticks before the HX711's first conversion
  CHECK(device.lines().empty());
  CHECK(!device.core->alarmOn());
  CHECK(device.hw.pinChanges.empty());
  device.sample(-195000);  // the first conversion: 5000 above the tare
  CHECK_EQ(device.lines(), one("S,0," + std::to_string(device.lastSampleUs) + ",5000"));
  CHECK(!device.core->alarmOn());
  CHECK(!device.hw.led && !device.hw.motor && !device.hw.buzzer);
}

TEST(tare_after_nodata_needs_16_new_conversions) {
  TestDevice device(kHx711Profile);
  device.boot();
  device.samples(20, 500);
  device.samples(41, 500, false);
  device.samples(15, 700);
  device.lines();
  CHECK_EQ(device.command("TARE"), one("NAK,TARE,range"));
  device.sample(700);
  device.lines();
  CHECK_EQ(device.command("TARE"), one("ACK,TARE"));
  CHECK_EQ(device.core->settings().tareOffset, 700);
}

TEST(fsr_build_has_no_nodata_fault) {
  TestDevice device;
  device.boot();
  device.lines();
  device.samples(200, 5, false);
  CHECK(faults(device.lines()).empty());
}
