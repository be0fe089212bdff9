// The status LED on D13: the host's zone as a pattern, overridden by the alarm.
#include <string>
#include <vector>

#include "test_device.h"
#include "test_framework.h"

using namespace knotmeter;
using namespace testing;

namespace {

// LED state every 1 ms over `ms`, as a string of '1'/'0'.
std::string ledTrace(TestDevice& device, int ms) {
  std::string trace;
  for (int i = 0; i < ms; i++) {
    device.run(1000, 1000);
    trace += device.hw.led ? '1' : '0';
  }
  return trace;
}

// Lengths of the runs of equal characters.
std::vector<size_t> runs(const std::string& trace) {
  std::vector<size_t> out;
  size_t start = 0;
  for (size_t i = 1; i <= trace.size(); i++) {
    if (i == trace.size() || trace[i] != trace[start]) {
      out.push_back(i - start);
      start = i;
    }
  }
  return out;
}

}  // namespace

TEST(zone_0_is_off_and_zone_1_is_on) {
  TestDevice device;
  device.boot();
  CHECK_EQ(ledTrace(device, 100), std::string(100, '0'));
  CHECK_EQ(device.command("ZONE,1"), one("ACK,ZONE"));
  CHECK_EQ(ledTrace(device, 1500), std::string(1500, '1'));
  CHECK_EQ(device.command("ZONE,0"), one("ACK,ZONE"));
  CHECK(!device.hw.led);
}

TEST(zone_2_blinks_at_1_hz) {
  TestDevice device;
  device.boot();
  CHECK_EQ(device.command("ZONE,2"), one("ACK,ZONE"));
  CHECK(device.hw.led);  // starts with the on half
  const std::vector<size_t> lengths = runs(ledTrace(device, 3000));
  CHECK(lengths.size() >= 6);
  for (size_t i = 1; i + 1 < lengths.size(); i++) CHECK(lengths[i] >= 499 && lengths[i] <= 501);
}

TEST(zone_3_blinks_at_4_hz) {
  TestDevice device;
  device.boot();
  CHECK_EQ(device.command("ZONE,3"), one("ACK,ZONE"));
  const std::vector<size_t> lengths = runs(ledTrace(device, 2000));
  CHECK(lengths.size() >= 16);
  for (size_t i = 1; i + 1 < lengths.size(); i++) CHECK(lengths[i] >= 124 && lengths[i] <= 126);
}

TEST(repeating_a_zone_keeps_the_rhythm) {
  TestDevice device;
  device.boot();
  CHECK_EQ(device.command("ZONE,3"), one("ACK,ZONE"));
  std::string trace;
  for (int i = 0; i < 20; i++) {
    trace += ledTrace(device, 100);
    CHECK_EQ(device.command("ZONE,3"), one("ACK,ZONE"));  // a host sending its zone every 100 ms
  }
  const std::vector<size_t> lengths = runs(trace);
  CHECK(lengths.size() >= 14);
  for (size_t i = 1; i + 1 < lengths.size(); i++) CHECK(lengths[i] >= 123 && lengths[i] <= 127);
}

TEST(alarm_holds_the_led_on_whatever_the_zone) {
  TestDevice device;
  device.boot();
  device.run(200000);
  CHECK_EQ(device.command("LIMIT,600,550"), one("ACK,LIMIT"));
  CHECK_EQ(device.command("ZONE,3"), one("ACK,ZONE"));
  device.sample(700);
  CHECK_EQ(ledTrace(device, 600), std::string(600, '1'));
  // Without the LED in FEEDBACK, the zone pattern shows through the alarm.
  CHECK_EQ(device.command("FEEDBACK,6"), one("ACK,FEEDBACK"));
  CHECK(runs(ledTrace(device, 600)).size() >= 4);
  CHECK(device.hw.motor && device.hw.buzzer);
  CHECK_EQ(device.command("FEEDBACK,7"), one("ACK,FEEDBACK"));
  CHECK_EQ(device.command("ZONE,0"), one("ACK,ZONE"));
  CHECK_EQ(ledTrace(device, 100), std::string(100, '1'));
  device.sample(500);
  CHECK_EQ(ledTrace(device, 100), std::string(100, '0'));
}
