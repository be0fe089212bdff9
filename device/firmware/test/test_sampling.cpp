// Sample lines: seq and t_us (and their wraps), losses shown as seq gaps, and the
// link rule's promise that the highest accepted rate fits the serial line.
#include <cstdio>
#include <string>
#include <vector>

#include "test_device.h"
#include "test_framework.h"

using namespace knotmeter;
using namespace testing;

namespace {

struct SampleLine {
  long seq;
  unsigned long tUs;
  long raw;
};

bool parseSample(const std::string& line, SampleLine& out) {
  return std::sscanf(line.c_str(), "S,%ld,%lu,%ld", &out.seq, &out.tUs, &out.raw) == 3 && startsWith(line, "S,");
}

std::string sampleLine(uint16_t seq, uint32_t tUs, int32_t raw) {
  return "S," + std::to_string(seq) + "," + std::to_string(tUs) + "," + std::to_string(raw);
}

}  // namespace

TEST(sample_lines_carry_seq_time_and_raw) {
  TestDevice device;
  device.boot();
  device.lines();
  device.sample(0);
  device.sample(512);
  device.sample(1023);
  // 1023 is above the ceiling: the alarm's line goes first.
  CHECK_EQ(device.lines(), (std::vector<std::string>{"S,0,10000,0", "S,1,20000,512", "ALARM,1,30000,1023", "S,2,30000,1023"}));
}

TEST(seq_wraps_from_65535_to_0) {
  TestDevice device;
  device.boot();
  device.lines();
  std::vector<std::string> last;
  for (long i = 0; i < 65538; i++) {
    device.sample(7);
    std::vector<std::string> lines = device.lines();
    if (i >= 65534) last.insert(last.end(), lines.begin(), lines.end());
  }
  CHECK_EQ(last.size(), 4u);
  SampleLine s;
  CHECK(parseSample(last.at(0), s) && s.seq == 65534);
  CHECK(parseSample(last.at(1), s) && s.seq == 65535);
  CHECK(parseSample(last.at(2), s) && s.seq == 0);
  CHECK(parseSample(last.at(3), s) && s.seq == 1);
}

TEST(t_us_wraps_after_2_to_the_32) {
  TestDevice device;
  device.boot();
  device.lines();
  device.lastSampleUs = 4294967295UL - 15000;  // the clock 71.6 minutes on
  device.sample(1);
  device.sample(2);
  device.sample(3);
  CHECK_EQ(device.lines(), (std::vector<std::string>{sampleLine(0, 4294962295UL, 1), sampleLine(1, 4999, 2),
                                                     sampleLine(2, 14999, 3)}));
}

TEST(samples_lost_before_the_core_show_as_a_seq_gap) {
  TestDevice device;
  device.boot();
  device.lines();
  device.sample(5);
  device.sample(5, true, 3);  // the sampling queue dropped three
  device.sample(5, true, 65535);
  std::vector<std::string> lines = device.lines();
  SampleLine a, b, c;
  CHECK(parseSample(lines.at(0), a) && parseSample(lines.at(1), b) && parseSample(lines.at(2), c));
  CHECK_EQ(a.seq, 0);
  CHECK_EQ(b.seq, 4);
  CHECK_EQ(c.seq, 4);  // 65535 lost then this one: the counter went all the way round
}

TEST(a_full_transmit_buffer_shows_as_a_seq_gap) {
  TestDevice device;
  device.boot();
  device.lines();
  // Nothing drains: S lines stop once the next would eat into the reserve.
  for (int i = 0; i < 40; i++) device.sample(100);
  CHECK(device.hw.txFree() >= Knotmeter::kReservedTxBytes);
  CHECK(device.hw.txFree() < Knotmeter::kReservedTxBytes + 20);  // "$S,40,410000,100*HH\n" would not fit
  std::vector<std::string> lines = device.lines();
  const size_t queued = lines.size();
  CHECK(queued > 5 && queued < 40);
  for (int i = 0; i < 3; i++) device.sample(100);
  lines = device.lines();
  CHECK_EQ(lines.size(), 3u);
  SampleLine first;
  CHECK(parseSample(lines.at(0), first));
  CHECK_EQ(first.seq, 40);  // seq counted the samples that were not sent
  for (const std::string& line : lines) CHECK(line[0] != '!');  // only whole, valid lines
}

TEST(replies_get_through_while_samples_fill_the_link) {
  TestDevice device;
  device.boot();
  device.lines();
  for (int i = 0; i < 40; i++) device.sample(100);
  device.hw.rx.clear();
  device.hostSends(frame("INFO") + "\n");
  device.core->update();  // no draining in between: the reserve holds the reply
  std::vector<std::string> lines = withoutSamples(device.lines());
  CHECK_EQ(lines.size(), 1u);
  CHECK(!lines.empty() && startsWith(lines.at(0), "HELLO,1,"));
}

// The link drains at `bytesPerSecond`; the device streams at its highest
// accepted rate with the longest lines (10-digit t_us, 5-digit seq). The link
// rule's 10 % margin must leave no seq gap.
static void checkNoGapAtMaxRate(const SensorProfile& sensor, uint32_t baud, double bytesPerSecond, int32_t raw) {
  TestDevice device(sensor, baud);
  device.boot();
  device.lines();
  const uint16_t rate = device.core->maxRateHz();
  CHECK_EQ(device.command("RATE," + std::to_string(rate)), one("ACK,RATE"));
  device.lastSampleUs = 4000000000UL;
  device.lines();
  device.hw.wire.clear();
  double credit = 0;
  long expected = -1;
  long gaps = 0;
  long lines = 0;
  for (long i = 0; i < 20L * rate; i++) {
    device.sample(raw);
    credit += bytesPerSecond / rate;
    const size_t bytes = static_cast<size_t>(credit);
    credit -= static_cast<double>(bytes);
    device.hw.drain(bytes);
    size_t start = 0;
    for (size_t end; (end = device.hw.wire.find('\n', start)) != std::string::npos; start = end + 1) {
      SampleLine s;
      if (!parseSample(unframe(device.hw.wire.substr(start, end - start)), s)) continue;
      if (expected >= 0 && s.seq != expected) gaps++;
      expected = (s.seq + 1) % 65536;
      lines++;
    }
    device.hw.wire.erase(0, start);
  }
  CHECK_EQ(gaps, 0);
  CHECK(lines > 19L * rate);
}

TEST(highest_rate_fits_the_nominal_link_without_gaps) {
  checkNoGapAtMaxRate(kFsrProfile, 115200, 115200 / 10.0, 1023);
  checkNoGapAtMaxRate(kHx711Profile, 115200, 115200 / 10.0, -8388608);
  checkNoGapAtMaxRate(kFsrProfile, 500000, 500000 / 10.0, 1023);
}

TEST(highest_rate_fits_simavr_s_slower_uart) {
  // simavr 1.6 sends 11 bits a frame at UBRR0 = 16 with U2X0: 117647 / 11 bytes/s.
  checkNoGapAtMaxRate(kFsrProfile, 115200, 117647 / 11.0, 1023);
}
