// The thumb button: debounced on the device clock (25 ms stable), one MARK per
// press dated at its first edge, numbered from 0; no MARK for a glitch, for a
// held button, for its release, nor for a button held through the boot.
#include <string>
#include <vector>

#include "test_device.h"
#include "test_framework.h"

using namespace knotmeter;
using namespace testing;

namespace {

std::vector<std::string> marks(TestDevice& device) {
  std::vector<std::string> out;
  for (const std::string& line : device.lines())
    if (line.compare(0, 5, "MARK,") == 0) out.push_back(line);
  return out;
}

// Sets the pin and runs the main loop (a pass every 50 us) for `us`.
void hold(TestDevice& device, bool down, uint32_t us) {
  device.hw.buttonDown = down;
  device.run(us, 50);
}

}  // namespace

TEST(a_bounced_press_is_one_mark_dated_at_its_first_edge_after_25_ms) {
  TestDevice device;
  device.boot();
  device.run(100000, 50);
  device.lines();
  const uint32_t pressUs = device.hw.now + 50;  // the pass that first sees it
  for (int bounce = 0; bounce < 5; bounce++) {
    hold(device, true, 400);
    hold(device, false, 300);
  }
  hold(device, true, 24900);  // 25 ms after the last edge, not yet
  CHECK(marks(device).empty());
  hold(device, true, 200);
  CHECK_EQ(marks(device), std::vector<std::string>{"MARK,0," + std::to_string(pressUs)});
  hold(device, true, 2000000);  // held: nothing more
  hold(device, false, 100000);  // released: nothing
  CHECK(marks(device).empty());
  const uint32_t secondUs = device.hw.now + 50;
  hold(device, true, 30000);
  CHECK_EQ(marks(device), std::vector<std::string>{"MARK,1," + std::to_string(secondUs)});
}

TEST(a_glitch_shorter_than_the_debounce_is_no_press) {
  TestDevice device;
  device.boot();
  device.run(10000, 50);
  device.lines();
  hold(device, true, 24000);
  hold(device, false, 100000);
  CHECK(marks(device).empty());
  hold(device, true, 30000);
  const std::vector<std::string> sent = marks(device);
  CHECK_EQ(sent.size(), 1u);
  CHECK(sent[0].compare(0, 7, "MARK,0,") == 0);
}

TEST(a_button_held_through_the_boot_is_no_press_and_ceiling_still_unlocks) {
  TestDevice device;
  device.thumbButtonHeld = true;
  device.hw.buttonDown = true;
  device.boot();
  CHECK(device.core->ceilingUnlocked());
  hold(device, true, 500000);
  hold(device, false, 100000);
  CHECK(marks(device).empty());
  CHECK_EQ(device.command("CEILING,700"), std::vector<std::string>{"ACK,CEILING"});
  hold(device, true, 30000);
  const std::vector<std::string> sent = marks(device);
  CHECK_EQ(sent.size(), 1u);
  CHECK(sent[0].compare(0, 7, "MARK,0,") == 0);
}

TEST(a_mark_waits_for_room_and_is_never_dropped) {
  TestDevice device;
  device.boot();
  device.run(10000, 50);
  device.hw.txCapacity = device.hw.txQueue.size();  // the transmit buffer full
  hold(device, true, 30000);
  CHECK_EQ(device.core->pendingEvents(), 1);
  device.hw.txCapacity = 255;
  device.run(1000, 50);
  CHECK_EQ(device.core->pendingEvents(), 0);
  CHECK_EQ(marks(device).size(), 1u);
}
