// Wire protocol v1 framing (device/PROTOCOL.md, "The contract"):
// `$BODY*HH\n` lines where HH is the XOR of BODY in uppercase hex. LineBuilder
// writes device lines; checkFrame, splitFields and parseInteger read host lines.
// No allocation, no printf: the same code runs on the ATmega328P and in host tests.
#ifndef KNOTMETER_PROTOCOL_H
#define KNOTMETER_PROTOCOL_H

#include <stdint.h>

namespace knotmeter {

const uint8_t kMaxLineBytes = 80;  // a whole line, terminator included

uint8_t xorChecksum(const char* bytes, uint8_t length);

// Builds one device line. Every line the firmware sends is far shorter than
// kMaxLineBytes (the longest, HELLO, is 60 bytes); finish() returns 0 if a body
// ever did not fit, and such a line is never sent.
class LineBuilder {
 public:
  explicit LineBuilder(const char* name);
  LineBuilder& field(const char* text);
  LineBuilder& field(const char* text, uint8_t length);
  LineBuilder& unsignedField(uint32_t value);
  LineBuilder& signedField(int32_t value);
  LineBuilder& hexField(uint32_t value);  // 8 lowercase hex digits
  // Appends `*HH\n`; returns the line's length in bytes, or 0 if it overflowed.
  uint8_t finish();
  const char* data() const { return buffer_; }

 private:
  void put(char c);
  void putText(const char* text, uint8_t length);
  void putUnsigned(uint32_t value);

  char buffer_[kMaxLineBytes];
  uint8_t length_;
  uint8_t checksum_;
  bool overflowed_;
};

enum FrameStatus {
  kFrameOk,
  kFrameNotPrintable,  // a byte outside 0x20..0x7E: not a protocol line
  kFrameNoChecksum,    // not of the form $BODY*HH
  kFrameBadChecksum,
};

// Checks a host line without its terminator. On kFrameOk, `body` and `bodyLength`
// point at BODY inside `line`.
FrameStatus checkFrame(const char* line, uint8_t length, const char** body, uint8_t* bodyLength);

struct Fields {
  static const uint8_t kMax = 4;  // a name and up to 3 values: more is always wrong
  const char* text[kMax];
  uint8_t length[kMax];
  uint8_t count;
  bool tooMany;
};

void splitFields(const char* body, uint8_t length, Fields& fields);

enum NumberStatus { kNumberOk, kNumberSyntax, kNumberRange };

// A decimal integer: an optional '-' then digits, nothing else. Well-formed
// numbers beyond int32 are kNumberRange (they are out of every range), not syntax.
NumberStatus parseInteger(const char* text, uint8_t length, int32_t& value);

}  // namespace knotmeter

#endif
