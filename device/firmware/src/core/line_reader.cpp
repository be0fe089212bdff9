#include "line_reader.h"

#include "hardware.h"

namespace knotmeter {

LineReader::Result LineReader::feed(int16_t input) {
  if (input == kRxLost) {
    damaged_ = true;
    return kPending;
  }
  if (input < 0) return kPending;
  const char c = static_cast<char>(input);
  if (c != '\n') {
    if (overlong_) return kPending;
    if (length_ == sizeof(buffer_)) {
      // This byte would make the line longer than kMaxLineBytes with its '\n'.
      overlong_ = true;
      return kPending;
    }
    buffer_[length_++] = c;
    return kPending;
  }
  Result result = kLine;
  if (overlong_) {
    result = kOverlong;
  } else if (damaged_) {
    result = kDamaged;
  }
  lineLength_ = length_;
  if (lineLength_ > 0 && buffer_[lineLength_ - 1] == '\r') lineLength_--;
  length_ = 0;
  overlong_ = false;
  damaged_ = false;
  return result;
}

}  // namespace knotmeter
