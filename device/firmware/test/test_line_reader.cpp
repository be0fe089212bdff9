// Host line assembly: the 80-byte bound, terminators, and losses in the receive buffer.
#include <string>

#include "../src/core/hardware.h"
#include "../src/core/line_reader.h"
#include "test_framework.h"

using namespace knotmeter;

namespace {

// Feeds every byte; returns the result of the last one.
LineReader::Result feedAll(LineReader& reader, const std::string& bytes) {
  LineReader::Result result = LineReader::kPending;
  for (unsigned char c : bytes) result = reader.feed(c);
  return result;
}

std::string line(const LineReader& reader) { return std::string(reader.line(), reader.lineLength()); }

}  // namespace

TEST(reader_returns_lines_without_terminators) {
  LineReader reader;
  CHECK_EQ(feedAll(reader, "$INFO*0E\n"), LineReader::kLine);
  CHECK_EQ(line(reader), std::string("$INFO*0E"));
  CHECK_EQ(feedAll(reader, "$INFO*0E\r\n"), LineReader::kLine);
  CHECK_EQ(line(reader), std::string("$INFO*0E"));
  CHECK_EQ(feedAll(reader, "\n"), LineReader::kLine);
  CHECK_EQ(reader.lineLength(), 0);
}

TEST(reader_takes_80_bytes_and_refuses_81) {
  LineReader reader;
  const std::string longest(79, 'A');  // 79 bytes + '\n' = 80
  CHECK_EQ(feedAll(reader, longest + "\n"), LineReader::kLine);
  CHECK_EQ(line(reader), longest);
  CHECK_EQ(feedAll(reader, std::string(78, 'A') + "\r\n"), LineReader::kLine);
  CHECK_EQ(feedAll(reader, std::string(80, 'A') + "\n"), LineReader::kOverlong);
  CHECK_EQ(feedAll(reader, std::string(79, 'A') + "\r\n"), LineReader::kOverlong);
  // Discarded up to its '\n', however long, and the next line is clean.
  CHECK_EQ(feedAll(reader, std::string(5000, 'B') + "\n"), LineReader::kOverlong);
  CHECK_EQ(feedAll(reader, "$INFO*0E\n"), LineReader::kLine);
  CHECK_EQ(line(reader), std::string("$INFO*0E"));
}

TEST(reader_marks_a_line_with_lost_bytes_damaged) {
  LineReader reader;
  feedAll(reader, "$LIMIT,6");
  CHECK_EQ(reader.feed(kRxLost), LineReader::kPending);
  CHECK_EQ(feedAll(reader, "50*53\n"), LineReader::kDamaged);
  CHECK_EQ(feedAll(reader, "$INFO*0E\n"), LineReader::kLine);
  CHECK_EQ(reader.feed(kRxEmpty), LineReader::kPending);
}

TEST(reader_passes_any_byte_value_and_recovers_at_newline) {
  LineReader reader;
  std::string garbage;
  for (int i = 0; i < 256; i++) {
    if (i != '\n') garbage += static_cast<char>(i);
  }
  CHECK_EQ(feedAll(reader, garbage.substr(0, 70) + "\n"), LineReader::kLine);
  CHECK_EQ(reader.lineLength(), 70);
  CHECK_EQ(feedAll(reader, garbage + "\n"), LineReader::kOverlong);
  CHECK_EQ(feedAll(reader, "$INFO*0E\n"), LineReader::kLine);
}
