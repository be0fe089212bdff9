// Assembles host lines from received bytes, bounded by the protocol's 80-byte
// line limit: a longer line is discarded up to its '\n' and reported as
// kOverlong; bytes lost in the receive buffer make the line kDamaged. Any byte
// value is accepted, so garbage can never wedge it: the next '\n' always ends
// the line and the one after it starts clean.
#ifndef KNOTMETER_LINE_READER_H
#define KNOTMETER_LINE_READER_H

#include <stdint.h>

#include "protocol.h"

namespace knotmeter {

class LineReader {
 public:
  enum Result { kPending, kLine, kOverlong, kDamaged };

  LineReader() : length_(0), lineLength_(0), overlong_(false), damaged_(false) {}

  // Feeds one rxRead() result (a byte or kRxLost). On kLine the line, without
  // its "\n" or "\r\n", is in line()/lineLength() until the next feed().
  Result feed(int16_t input);

  const char* line() const { return buffer_; }
  uint8_t lineLength() const { return lineLength_; }

 private:
  char buffer_[kMaxLineBytes - 1];  // the line's bytes before its '\n'
  uint8_t length_;
  uint8_t lineLength_;
  bool overlong_;
  bool damaged_;
};

}  // namespace knotmeter

#endif
