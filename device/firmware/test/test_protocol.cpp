// Framing and number parsing: the byte-level contract of protocol v1.
#include <climits>
#include <cstring>
#include <string>

#include "../src/core/protocol.h"
#include "test_framework.h"

using namespace knotmeter;

namespace {

std::string built(LineBuilder& line) {
  const uint8_t length = line.finish();
  return std::string(line.data(), length);
}

FrameStatus check(const std::string& line, std::string* body = nullptr) {
  const char* bodyStart = nullptr;
  uint8_t bodyLength = 0;
  const FrameStatus status = checkFrame(line.data(), static_cast<uint8_t>(line.size()), &bodyStart, &bodyLength);
  if (status == kFrameOk && body) *body = std::string(bodyStart, bodyLength);
  return status;
}

NumberStatus parse(const std::string& text, int32_t& value) {
  return parseInteger(text.data(), static_cast<uint8_t>(text.size()), value);
}

}  // namespace

TEST(checksum_is_xor_of_body_in_uppercase_hex) {
  CHECK_EQ(xorChecksum("INFO", 4), 0x0E);
  LineBuilder info("INFO");
  CHECK_EQ(built(info), std::string("$INFO*0E\n"));
  LineBuilder stream("STREAM");
  stream.unsignedField(0UL);
  CHECK_EQ(built(stream), std::string("$STREAM,0*00\n"));
  LineBuilder ack("ACK");
  ack.field("LIMIT");
  CHECK_EQ(built(ack), std::string("$ACK,LIMIT*30\n"));
  LineBuilder hello("HELLO");
  hello.unsignedField(1UL).field("1.0.0").hexField(0x1a2b3c4dUL).field("fsr").unsignedField(100UL).signedField(0).signedField(0);
  CHECK_EQ(built(hello), std::string("$HELLO,1,1.0.0,1a2b3c4d,fsr,100,0,0*38\n"));
}

TEST(line_builder_formats_numbers) {
  LineBuilder line("S");
  line.unsignedField(0UL).unsignedField(4294967295UL).signedField(-8388608L).signedField(INT32_MIN).signedField(INT32_MAX).hexField(0);
  const std::string text = built(line);
  CHECK_EQ(text.substr(0, text.size() - 4), std::string("$S,0,4294967295,-8388608,-2147483648,2147483647,00000000"));
}

TEST(longest_sample_lines_are_the_link_rule_L) {
  LineBuilder fsr("S");
  fsr.unsignedField(65535UL).unsignedField(4294967295UL).signedField(1023);
  CHECK_EQ(fsr.finish(), 28);
  LineBuilder hx711("S");
  hx711.unsignedField(65535UL).unsignedField(4294967295UL).signedField(-8388608L);
  CHECK_EQ(hx711.finish(), 32);
  // An ALARM line is never longer than the sample line of its build.
  LineBuilder alarmFsr("ALARM");
  alarmFsr.unsignedField(1UL).unsignedField(4294967295UL).signedField(1023);
  CHECK(alarmFsr.finish() <= 28);
  LineBuilder alarmHx("ALARM");
  alarmHx.unsignedField(1UL).unsignedField(4294967295UL).signedField(-8388608L);
  CHECK(alarmHx.finish() <= 32);
}

TEST(line_builder_refuses_a_body_that_does_not_fit) {
  LineBuilder line("X");
  for (int i = 0; i < 20; i++) line.unsignedField(4294967295UL);
  CHECK_EQ(line.finish(), 0);
}

TEST(check_frame_accepts_a_good_line) {
  std::string body;
  CHECK_EQ(check("$INFO*0E", &body), kFrameOk);
  CHECK_EQ(body, std::string("INFO"));
  CHECK_EQ(check("$INFO*0e", &body), kFrameOk);  // lowercase hex from a host is accepted
  CHECK_EQ(check("$LIMIT,600,550*53", &body), kFrameOk);
  CHECK_EQ(body, std::string("LIMIT,600,550"));
  CHECK_EQ(check("$*00", &body), kFrameOk);
  CHECK_EQ(body, std::string(""));
}

TEST(check_frame_rejects_missing_or_wrong_checksums) {
  CHECK_EQ(check("$INFO*0F"), kFrameBadChecksum);
  CHECK_EQ(check("$INFO"), kFrameNoChecksum);
  CHECK_EQ(check("INFO*0E"), kFrameNoChecksum);
  CHECK_EQ(check("$INFO*0"), kFrameNoChecksum);
  CHECK_EQ(check("$INFO*0G"), kFrameNoChecksum);
  CHECK_EQ(check("$INFO*"), kFrameNoChecksum);
  CHECK_EQ(check("$*0"), kFrameNoChecksum);
  CHECK_EQ(check("x"), kFrameNoChecksum);
  CHECK_EQ(check(" $INFO*0E"), kFrameNoChecksum);
}

TEST(check_frame_rejects_bytes_outside_printable_ascii) {
  CHECK_EQ(check(std::string("$IN\0FO*0E", 9)), kFrameNotPrintable);
  CHECK_EQ(check("$INFO\x7f*0E"), kFrameNotPrintable);
  CHECK_EQ(check("$INFO\xff*0E"), kFrameNotPrintable);
  CHECK_EQ(check("$INFO\t*0E"), kFrameNotPrintable);
}

TEST(split_fields_counts_and_bounds_fields) {
  Fields fields;
  const char* body = "LIMIT,600,550";
  splitFields(body, static_cast<uint8_t>(std::strlen(body)), fields);
  CHECK_EQ(fields.count, 3);
  CHECK(!fields.tooMany);
  CHECK_EQ(std::string(fields.text[1], fields.length[1]), std::string("600"));
  CHECK_EQ(std::string(fields.text[2], fields.length[2]), std::string("550"));
  const char* empties = "A,,";
  splitFields(empties, 3, fields);
  CHECK_EQ(fields.count, 3);
  CHECK_EQ(fields.length[1], 0);
  CHECK_EQ(fields.length[2], 0);
  const char* many = "A,1,2,3,4,5";
  splitFields(many, static_cast<uint8_t>(std::strlen(many)), fields);
  CHECK(fields.tooMany);
}

TEST(parse_integer_accepts_decimal_integers) {
  int32_t value = 99;
  CHECK_EQ(parse("0", value), kNumberOk);
  CHECK_EQ(value, 0);
  CHECK_EQ(parse("370", value), kNumberOk);
  CHECK_EQ(value, 370);
  CHECK_EQ(parse("-5", value), kNumberOk);
  CHECK_EQ(value, -5);
  CHECK_EQ(parse("-0", value), kNumberOk);
  CHECK_EQ(value, 0);
  CHECK_EQ(parse("007", value), kNumberOk);
  CHECK_EQ(value, 7);
  CHECK_EQ(parse("2147483647", value), kNumberOk);
  CHECK_EQ(value, INT32_MAX);
  CHECK_EQ(parse("-2147483648", value), kNumberOk);
  CHECK_EQ(value, INT32_MIN);
}

TEST(parse_integer_tells_syntax_from_range) {
  int32_t value = 0;
  CHECK_EQ(parse("", value), kNumberSyntax);
  CHECK_EQ(parse("-", value), kNumberSyntax);
  CHECK_EQ(parse("+5", value), kNumberSyntax);
  CHECK_EQ(parse(" 5", value), kNumberSyntax);
  CHECK_EQ(parse("5 ", value), kNumberSyntax);
  CHECK_EQ(parse("1a", value), kNumberSyntax);
  CHECK_EQ(parse("1.5", value), kNumberSyntax);
  CHECK_EQ(parse("--1", value), kNumberSyntax);
  CHECK_EQ(parse("99999999999999999999x", value), kNumberSyntax);
  CHECK_EQ(parse("2147483648", value), kNumberRange);
  CHECK_EQ(parse("-2147483649", value), kNumberRange);
  CHECK_EQ(parse("99999999999999999999", value), kNumberRange);
}
