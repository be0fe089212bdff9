// The interrupt <-> main-loop buffers: all-or-nothing writes, loss marking, seq accounting.
#include <string>

#include "../src/core/rings.h"
#include "test_framework.h"

using namespace knotmeter;

TEST(byte_ring_writes_all_or_nothing_across_wraps) {
  ByteRing<256> ring;
  CHECK_EQ(ring.free(), 255);
  const std::string line = "$S,1,2,3*00\n";
  std::string out;
  for (int round = 0; round < 100; round++) {
    CHECK(ring.write(line.data(), static_cast<uint8_t>(line.size())));
    while (!ring.empty()) out += static_cast<char>(ring.pop());
  }
  CHECK_EQ(out.size(), 100 * line.size());
  CHECK_EQ(out.substr(out.size() - line.size()), line);
  const std::string big(250, 'x');
  CHECK(ring.write(big.data(), 250));
  CHECK_EQ(ring.free(), 5);
  CHECK(!ring.write(line.data(), static_cast<uint8_t>(line.size())));
  CHECK_EQ(ring.used(), 250);  // a refused write leaves nothing behind
  CHECK(ring.write("12345", 5));
  CHECK(!ring.push('6'));
}

TEST(rx_ring_reports_loss_where_it_happened) {
  RxRing<128> rx;
  for (int i = 0; i < 127; i++) rx.push('a');
  rx.push('b');  // no room: lost, and so is everything until the reader catches up
  rx.push('c');
  int bytes = 0;
  int16_t value;
  while ((value = rx.read()) >= 0) bytes++;
  CHECK_EQ(bytes, 127);
  CHECK_EQ(value, kRxLost);
  CHECK_EQ(rx.read(), kRxEmpty);
  rx.push('d');
  CHECK_EQ(rx.read(), 'd');
  rx.markLost();
  rx.push('e');
  CHECK_EQ(rx.read(), kRxLost);
  CHECK_EQ(rx.read(), kRxEmpty);
}

TEST(sample_queue_counts_what_it_dropped) {
  SampleQueue<8> queue;
  for (uint32_t i = 0; i < 11; i++) queue.push(i, static_cast<int32_t>(i));  // 8 fit, 3 dropped
  Sample sample;
  CHECK(queue.pop(sample));
  CHECK_EQ(sample.tUs, 0u);
  CHECK_EQ(sample.lostBefore, 0);
  CHECK(queue.push(11, 11));  // after the 3 dropped ones
  for (int i = 1; i < 8; i++) CHECK(queue.pop(sample));
  CHECK_EQ(sample.tUs, 7u);
  CHECK(queue.pop(sample));
  CHECK_EQ(sample.tUs, 11u);
  CHECK_EQ(sample.lostBefore, 3);
  CHECK(!queue.pop(sample));
}
