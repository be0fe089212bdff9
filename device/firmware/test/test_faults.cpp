// FAULT,rail (fsr stuck at 1023 for 1 s) and FAULT,nodata (HX711 silent for
// 500 ms): once when the fault starts, again only after it cleared and came back.
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
  CHECK_EQ(device.lines(), one("FAULT,rail"));
}

TEST(hx711_build_has_no_rail_fault) {
  TestDevice device(kHx711Profile);
  device.boot();
  device.lines();
  device.samples(200, 8388607);
  CHECK(faults(device.lines()).empty());
}

TEST(nodata_fault_after_500_ms_without_a_conversion) {
  TestDevice device(kHx711Profile);
  device.boot();
  device.lines();
  device.sample(1000);  // t = 12.5 ms, a fresh conversion
  device.samples(39, 1000, false);  // t = 500 ms: 487.5 ms without one
  CHECK(faults(device.lines()).empty());
  device.sample(1000, false);  // t = 512.5 ms
  CHECK_EQ(faults(device.lines()), one("FAULT,nodata"));
  device.samples(100, 1000, false);
  CHECK(faults(device.lines()).empty());
  device.sample(1000);  // back
  device.samples(39, 1000, false);
  CHECK(faults(device.lines()).empty());
  device.sample(1000, false);
  CHECK_EQ(faults(device.lines()), one("FAULT,nodata"));
}

TEST(nodata_fault_when_the_hx711_never_answers) {
  TestDevice device(kHx711Profile);
  device.boot();
  device.lines();
  device.samples(39, 0, false);  // 487.5 ms after boot
  CHECK(faults(device.lines()).empty());
  device.sample(0, false);  // 500 ms after sampling started
  CHECK_EQ(faults(device.lines()), one("FAULT,nodata"));
  CHECK_EQ(device.command("TARE"), one("NAK,TARE,range"));
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
