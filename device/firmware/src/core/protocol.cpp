#include "protocol.h"

namespace knotmeter {

namespace {

const char kUpperHex[] = "0123456789ABCDEF";
const char kLowerHex[] = "0123456789abcdef";

// Powers of ten for decimal output by repeated subtraction: a 32-bit division
// costs ~40 µs on the AVR, and an S line has a 10-digit t_us at up to 1000 Hz.
const uint32_t kPowersOfTen[] = {1000000000UL, 100000000UL, 10000000UL, 1000000UL, 100000UL,
                                 10000UL,      1000UL,      100UL,      10UL,       1UL};

int8_t hexValue(char c) {
  if (c >= '0' && c <= '9') return static_cast<int8_t>(c - '0');
  if (c >= 'A' && c <= 'F') return static_cast<int8_t>(c - 'A' + 10);
  if (c >= 'a' && c <= 'f') return static_cast<int8_t>(c - 'a' + 10);
  return -1;
}

}  // namespace

uint8_t xorChecksum(const char* bytes, uint8_t length) {
  uint8_t sum = 0;
  for (uint8_t i = 0; i < length; i++) sum ^= static_cast<uint8_t>(bytes[i]);
  return sum;
}

LineBuilder::LineBuilder(const char* name) : length_(1), checksum_(0), overflowed_(false) {
  buffer_[0] = '$';
  while (*name) put(*name++);
}

void LineBuilder::put(char c) {
  // Keep room for "*HH\n".
  if (length_ >= kMaxLineBytes - 4) {
    overflowed_ = true;
    return;
  }
  buffer_[length_++] = c;
  checksum_ ^= static_cast<uint8_t>(c);
}

void LineBuilder::putText(const char* text, uint8_t length) {
  for (uint8_t i = 0; i < length; i++) put(text[i]);
}

void LineBuilder::putUnsigned(uint32_t value) {
  bool started = false;
  for (uint8_t i = 0; i < sizeof(kPowersOfTen) / sizeof(kPowersOfTen[0]); i++) {
    const uint32_t power = kPowersOfTen[i];
    char digit = '0';
    while (value >= power) {
      value -= power;
      digit++;
    }
    if (digit != '0' || started || power == 1) {
      put(digit);
      started = true;
    }
  }
}

LineBuilder& LineBuilder::field(const char* text) {
  put(',');
  while (*text) put(*text++);
  return *this;
}

LineBuilder& LineBuilder::field(const char* text, uint8_t length) {
  put(',');
  putText(text, length);
  return *this;
}

LineBuilder& LineBuilder::unsignedField(uint32_t value) {
  put(',');
  putUnsigned(value);
  return *this;
}

LineBuilder& LineBuilder::signedField(int32_t value) {
  put(',');
  if (value < 0) {
    put('-');
    // Negate in unsigned arithmetic so INT32_MIN does not overflow.
    putUnsigned(0u - static_cast<uint32_t>(value));
  } else {
    putUnsigned(static_cast<uint32_t>(value));
  }
  return *this;
}

LineBuilder& LineBuilder::hexField(uint32_t value) {
  put(',');
  for (int8_t shift = 28; shift >= 0; shift -= 4) put(kLowerHex[(value >> shift) & 0xF]);
  return *this;
}

uint8_t LineBuilder::finish() {
  if (overflowed_) return 0;
  const uint8_t sum = checksum_;
  buffer_[length_++] = '*';
  buffer_[length_++] = kUpperHex[sum >> 4];
  buffer_[length_++] = kUpperHex[sum & 0xF];
  buffer_[length_++] = '\n';
  return length_;
}

FrameStatus checkFrame(const char* line, uint8_t length, const char** body, uint8_t* bodyLength) {
  for (uint8_t i = 0; i < length; i++) {
    const uint8_t c = static_cast<uint8_t>(line[i]);
    if (c < 0x20 || c > 0x7E) return kFrameNotPrintable;
  }
  if (length < 4 || line[0] != '$' || line[length - 3] != '*') return kFrameNoChecksum;
  const int8_t high = hexValue(line[length - 2]);
  const int8_t low = hexValue(line[length - 1]);
  if (high < 0 || low < 0) return kFrameNoChecksum;
  const uint8_t expected = static_cast<uint8_t>((high << 4) | low);
  const uint8_t actual = xorChecksum(line + 1, static_cast<uint8_t>(length - 4));
  if (expected != actual) return kFrameBadChecksum;
  *body = line + 1;
  *bodyLength = static_cast<uint8_t>(length - 4);
  return kFrameOk;
}

void splitFields(const char* body, uint8_t length, Fields& fields) {
  fields.count = 1;
  fields.tooMany = false;
  fields.text[0] = body;
  fields.length[0] = 0;
  for (uint8_t i = 0; i < length; i++) {
    if (body[i] != ',') {
      fields.length[fields.count - 1]++;
      continue;
    }
    if (fields.count == Fields::kMax) {
      fields.tooMany = true;
      return;
    }
    fields.text[fields.count] = body + i + 1;
    fields.length[fields.count] = 0;
    fields.count++;
  }
}

NumberStatus parseInteger(const char* text, uint8_t length, int32_t& value) {
  uint8_t i = 0;
  const bool negative = length > 0 && text[0] == '-';
  if (negative) i = 1;
  if (i == length) return kNumberSyntax;
  // Accumulate the magnitude, saturating past 2^31 (which still tells range from syntax).
  const uint32_t limit = negative ? 2147483648UL : 2147483647UL;
  uint32_t magnitude = 0;
  bool tooBig = false;
  for (; i < length; i++) {
    const char c = text[i];
    if (c < '0' || c > '9') return kNumberSyntax;
    const uint8_t digit = static_cast<uint8_t>(c - '0');
    if (tooBig || magnitude > (limit - digit) / 10) {
      tooBig = true;
      continue;
    }
    magnitude = magnitude * 10 + digit;
  }
  if (tooBig) return kNumberRange;
  value = negative ? static_cast<int32_t>(0u - magnitude) : static_cast<int32_t>(magnitude);
  return kNumberOk;
}

}  // namespace knotmeter
