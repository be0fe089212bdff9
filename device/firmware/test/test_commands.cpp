// Every command of protocol v1 and every NAK reason, through the core on a fake board.
#include <cstdio>
#include <string>
#include <vector>

#include "test_device.h"
#include "test_framework.h"

using namespace knotmeter;
using namespace testing;

namespace {

std::string idHex(const TestDevice& device) {
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", device.core->deviceId());
  return hex;
}

std::string hello(const TestDevice& device, const std::string& rest) {
  return "HELLO,1,1.2.0," + idHex(device) + "," + rest;
}

}  // namespace

TEST(hello_at_boot_and_on_info) {
  TestDevice device;
  device.boot();
  CHECK_EQ(device.lines(), one(hello(device, "fsr,100," + atCeiling(kFsrProfile))));
  CHECK_EQ(device.command("INFO"), one(hello(device, "fsr,100," + atCeiling(kFsrProfile))));
  TestDevice hx(kHx711Profile);
  hx.boot();
  CHECK_EQ(hx.lines(), one(hello(hx, "hx711,80," + atCeiling(kHx711Profile))));
  CHECK_EQ(hx.hw.rateHz, 80);
}

TEST(info_takes_no_values) {
  TestDevice device;
  device.boot();
  device.lines();
  CHECK_EQ(device.command("INFO,1"), one("NAK,INFO,syntax"));
  CHECK_EQ(device.command("INFO,"), one("NAK,INFO,syntax"));
}

TEST(stream_starts_and_stops_sample_lines) {
  TestDevice device;
  device.boot();
  device.lines();
  device.sample(100);
  CHECK_EQ(device.lines().size(), 1u);
  CHECK_EQ(device.command("STREAM,0"), one("ACK,STREAM"));
  CHECK(!device.core->streaming());
  device.samples(5, 100);
  CHECK(device.lines().empty());
  CHECK_EQ(device.command("STREAM,1"), one("ACK,STREAM"));
  device.sample(100);
  std::vector<std::string> lines = device.lines();
  CHECK_EQ(lines.size(), 1u);
  // seq counted the 5 samples taken while not streaming.
  CHECK(startsWith(lines.at(0), "S,6,"));
}

TEST(stream_refuses_bad_values) {
  TestDevice device;
  device.boot();
  device.lines();
  CHECK_EQ(device.command("STREAM,2"), one("NAK,STREAM,range"));
  CHECK_EQ(device.command("STREAM,-1"), one("NAK,STREAM,range"));
  CHECK_EQ(device.command("STREAM,99999999999"), one("NAK,STREAM,range"));
  CHECK_EQ(device.command("STREAM"), one("NAK,STREAM,syntax"));
  CHECK_EQ(device.command("STREAM,"), one("NAK,STREAM,syntax"));
  CHECK_EQ(device.command("STREAM,1,1"), one("NAK,STREAM,syntax"));
  CHECK_EQ(device.command("STREAM,on"), one("NAK,STREAM,syntax"));
  CHECK_EQ(device.command("STREAM,+1"), one("NAK,STREAM,syntax"));
  CHECK_EQ(device.command("STREAM, 1"), one("NAK,STREAM,syntax"));
  CHECK(device.core->streaming());
}

TEST(rate_link_rule_boundaries_fsr_115200) {
  TestDevice device;
  device.boot();
  device.lines();
  // floor(0.9 * 115200 / 10 / 28) = floor(370.28) = 370
  CHECK_EQ(device.core->maxRateHz(), 370);
  CHECK_EQ(device.command("RATE,370"), one("ACK,RATE"));
  CHECK_EQ(device.hw.rateHz, 370);
  CHECK_EQ(device.command("RATE,371"), one("NAK,RATE,range"));
  CHECK_EQ(device.command("RATE,10"), one("ACK,RATE"));
  CHECK_EQ(device.command("RATE,9"), one("NAK,RATE,range"));
  CHECK_EQ(device.command("RATE,0"), one("NAK,RATE,range"));
  CHECK_EQ(device.command("RATE,-100"), one("NAK,RATE,range"));
  CHECK_EQ(device.command("RATE,1000"), one("NAK,RATE,range"));
  CHECK_EQ(device.command("RATE,100.5"), one("NAK,RATE,syntax"));
  CHECK_EQ(device.command("RATE"), one("NAK,RATE,syntax"));
  CHECK_EQ(device.hw.rateHz, 10);  // refused values changed nothing
  CHECK_EQ(device.command("INFO"), one(hello(device, "fsr,10," + atCeiling(kFsrProfile))));
}

TEST(rate_link_rule_other_bauds_and_the_hx711_cap) {
  TestDevice fast(kFsrProfile, 500000);
  fast.boot();
  fast.lines();
  // floor(0.9 * 500000 / 10 / 28) = 1607: the protocol's 1000 Hz is the cap.
  CHECK_EQ(fast.command("RATE,1000"), one("ACK,RATE"));
  CHECK_EQ(fast.command("RATE,1001"), one("NAK,RATE,range"));
  TestDevice mid(kFsrProfile, 250000);
  mid.boot();
  mid.lines();
  // floor(0.9 * 250000 / 10 / 28) = floor(803.57) = 803
  CHECK_EQ(mid.command("RATE,803"), one("ACK,RATE"));
  CHECK_EQ(mid.command("RATE,804"), one("NAK,RATE,range"));
  TestDevice hx(kHx711Profile);
  hx.boot();
  hx.lines();
  // The link would carry floor(0.9 * 115200 / 10 / 32) = 324; the HX711 does 80.
  CHECK_EQ(linkMaxRateHz(115200, 32), 324);
  CHECK_EQ(hx.command("RATE,80"), one("ACK,RATE"));
  CHECK_EQ(hx.command("RATE,81"), one("NAK,RATE,range"));
  CHECK_EQ(hx.command("RATE,10"), one("ACK,RATE"));
  // A slow build starts at what its link carries: floor(0.9 * 19200 / 10 / 28) = 61.
  TestDevice slow(kFsrProfile, 19200);
  slow.boot();
  CHECK_EQ(slow.hw.rateHz, 61);
  CHECK_EQ(slow.command("RATE,62"), std::vector<std::string>{"NAK,RATE,range"});
}

TEST(limit_is_checked_applied_and_acked_after_the_eeprom_write) {
  TestDevice device;
  device.boot();
  device.run(200000);  // let the first-boot EEPROM write finish
  device.lines();
  const int writesBefore = device.hw.eepromWrites;
  CHECK_EQ(device.command("LIMIT,600,550"), one("ACK,LIMIT"));
  CHECK(device.hw.eepromWrites > writesBefore);
  CHECK(!device.hw.eepromBusy());  // the ACK came after the last byte was written
  CHECK(device.lastReplyAfterUs <= 50000);
  CHECK_EQ(device.core->settings().limitOn, 600);
  CHECK_EQ(device.core->settings().limitOff, 550);
  CHECK_EQ(device.command("INFO"), one(hello(device, "fsr,100,600,550," + std::to_string(kBuildCeilingFsr))));
  CHECK_EQ(device.command("LIMIT," + std::to_string(kBuildCeilingFsr) + ",0"), one("ACK,LIMIT"));  // at the ceiling
  CHECK_EQ(device.command("LIMIT,1,0"), one("ACK,LIMIT"));
  CHECK_EQ(device.hw.eepromMisuse, 0);
}

TEST(default_ceilings_are_90_newtons_on_the_default_curves) {
  // The Makefile's defaults (device/PROTOCOL.md, "Alarm ceiling"): fsr 1023 F / (F + 30 N)
  // at 90 N, rounded down; hx711 90 N at 42 800 counts/N.
  if (kBuildCeilingFsr == 767) CHECK_EQ(atCeiling(kFsrProfile), std::string("767,744,767"));
  if (kBuildCeilingHx711 == 3852000) CHECK_EQ(atCeiling(kHx711Profile), std::string("3852000,3731625,3852000"));
  CHECK_EQ(1023 * 90 / (90 + 30), 767);
  CHECK_EQ(90 * 42800, 3852000);
}

TEST(limit_above_the_ceiling_or_off_is_refused_and_changes_nothing) {
  TestDevice device;
  device.boot();
  device.run(200000);
  device.lines();
  CHECK_EQ(device.command("LIMIT,600,550"), one("ACK,LIMIT"));
  const int writes = device.hw.eepromWrites;
  const std::string above = std::to_string(kBuildCeilingFsr + 1);
  CHECK_EQ(device.command("LIMIT," + above + ",550"), one("NAK,LIMIT,ceiling"));
  CHECK_EQ(device.command("LIMIT,1023,1022"), one("NAK,LIMIT,ceiling"));
  CHECK_EQ(device.command("LIMIT,0,0"), one("NAK,LIMIT,ceiling"));  // off would move it out of reach
  // The sensor's own range and the order of on and off are still `range`.
  CHECK_EQ(device.command("LIMIT,1024,500"), one("NAK,LIMIT,range"));
  CHECK_EQ(device.command("LIMIT,700,700"), one("NAK,LIMIT,range"));
  CHECK_EQ(device.core->settings().limitOn, 600);
  CHECK_EQ(device.core->settings().limitOff, 550);
  CHECK_EQ(device.hw.eepromWrites, writes);
  // The alarm still sounds at 600.
  device.sample(650);
  CHECK(device.core->alarmOn());
  TestDevice hx(kHx711Profile);
  hx.boot();
  hx.lines();
  CHECK_EQ(hx.command("LIMIT," + std::to_string(kBuildCeilingHx711 + 1) + ",0"), one("NAK,LIMIT,ceiling"));
  CHECK_EQ(hx.command("LIMIT," + std::to_string(kBuildCeilingHx711) + ",0"), one("ACK,LIMIT"));
}

TEST(ceiling_is_locked_without_the_thumb_button) {
  TestDevice device;
  device.boot();
  device.lines();
  CHECK(!device.core->ceilingUnlocked());
  CHECK_EQ(device.command("CEILING,1000"), one("NAK,CEILING,locked"));
  CHECK_EQ(device.command("CEILING,100"), one("NAK,CEILING,locked"));  // lowering it too: locked
  CHECK_EQ(device.command("CEILING,0"), one("NAK,CEILING,locked"));
  CHECK_EQ(device.command("CEILING"), one("NAK,CEILING,syntax"));
  CHECK_EQ(device.command("CEILING,1,2"), one("NAK,CEILING,syntax"));
  CHECK_EQ(device.core->ceiling().raw, kBuildCeilingFsr);
  CHECK(!device.core->ceiling().stored);
}

TEST(ceiling_is_set_within_10_s_of_a_boot_with_the_thumb_button_held) {
  TestDevice device;
  device.thumbButtonHeld = true;
  device.boot();
  device.run(200000);
  device.lines();
  CHECK(device.core->ceilingUnlocked());
  CHECK_EQ(device.command("CEILING,0"), one("NAK,CEILING,range"));
  CHECK_EQ(device.command("CEILING,1024"), one("NAK,CEILING,range"));
  CHECK_EQ(device.command("CEILING,-5"), one("NAK,CEILING,range"));
  CHECK_EQ(device.command("CEILING,900"), one("ACK,CEILING"));
  CHECK(!device.hw.eepromBusy());  // ACKed after the EEPROM write
  CHECK_EQ(device.command("INFO"), one(hello(device, "fsr,100," + atCeiling(kFsrProfile).substr(0, atCeiling(kFsrProfile).rfind(',')) + ",900")));
  CHECK_EQ(device.command("LIMIT,900,850"), one("ACK,LIMIT"));
  CHECK_EQ(device.command("LIMIT,901,850"), one("NAK,LIMIT,ceiling"));
  // Lowered below the thresholds: they move to the new ceiling.
  CHECK_EQ(device.command("CEILING,700"), one("ACK,CEILING"));
  CHECK_EQ(device.command("INFO"), one(hello(device, "fsr,100,700,679,700")));
  // Kept across a reboot without the button, which locks it again.
  device.thumbButtonHeld = false;
  device.reboot();
  CHECK_EQ(device.lines(), one(hello(device, "fsr,100,700,679,700")));
  CHECK_EQ(device.command("CEILING,900"), one("NAK,CEILING,locked"));
  // With the button held again, only for the first 10 s after the boot.
  device.thumbButtonHeld = true;
  device.reboot();
  device.run(Knotmeter::kCeilingUnlockUs - 200, 100);
  CHECK_EQ(device.command("CEILING,800"), one("ACK,CEILING"));
  device.run(200, 100);
  CHECK(!device.core->ceilingUnlocked());
  CHECK_EQ(device.command("CEILING,900"), one("NAK,CEILING,locked"));
  CHECK_EQ(device.core->ceiling().raw, 800);
  CHECK_EQ(device.hw.eepromMisuse, 0);
}

TEST(hx711_ceiling_range_is_its_24_bit_counts) {
  TestDevice device(kHx711Profile);
  device.thumbButtonHeld = true;
  device.boot();
  device.lines();
  CHECK_EQ(device.command("CEILING,8388608"), one("NAK,CEILING,range"));
  CHECK_EQ(device.command("CEILING,8388607"), one("ACK,CEILING"));
  CHECK_EQ(device.command("LIMIT,8388607,8388606"), one("ACK,LIMIT"));
  // The longest line the firmware sends: HELLO with the largest thresholds and ceiling.
  const std::vector<std::string> longest = device.command("INFO");
  CHECK_EQ(longest.size(), 1u);
  CHECK(!longest.empty() && frame(longest[0]).size() + 1 == 60);
}

TEST(limit_refuses_out_of_range_and_malformed_values) {
  TestDevice device;
  device.boot();
  device.lines();
  CHECK_EQ(device.command("LIMIT,550,600"), one("NAK,LIMIT,range"));  // off must be below on
  CHECK_EQ(device.command("LIMIT,600,600"), one("NAK,LIMIT,range"));
  CHECK_EQ(device.command("LIMIT,600,-1"), one("NAK,LIMIT,range"));
  CHECK_EQ(device.command("LIMIT,1024,500"), one("NAK,LIMIT,range"));  // above the fsr's 1023
  CHECK_EQ(device.command("LIMIT,0,5"), one("NAK,LIMIT,range"));
  CHECK_EQ(device.command("LIMIT,5000000000,5"), one("NAK,LIMIT,range"));
  CHECK_EQ(device.command("LIMIT,600"), one("NAK,LIMIT,syntax"));
  CHECK_EQ(device.command("LIMIT,600,550,1"), one("NAK,LIMIT,syntax"));
  CHECK_EQ(device.command("LIMIT,600,x"), one("NAK,LIMIT,syntax"));
  CHECK_EQ(device.command("LIMIT,x,5000000000"), one("NAK,LIMIT,syntax"));  // syntax before range
  CHECK_EQ(device.command("LIMIT,,"), one("NAK,LIMIT,syntax"));
  CHECK_EQ(device.core->settings().limitOn, kBuildCeilingFsr);  // the default, unchanged
  TestDevice hx(kHx711Profile);
  hx.boot();
  hx.lines();
  CHECK_EQ(hx.command("LIMIT,8388608,0"), one("NAK,LIMIT,range"));
  CHECK_EQ(hx.command("LIMIT,100000,-100"), one("NAK,LIMIT,range"));
}

TEST(feedback_mask_is_checked) {
  TestDevice device;
  device.boot();
  device.lines();
  CHECK_EQ(device.core->feedbackMask(), 7);
  for (int mask = 0; mask <= 7; mask++) {
    CHECK_EQ(device.command("FEEDBACK," + std::to_string(mask)), one("ACK,FEEDBACK"));
    CHECK_EQ(device.core->feedbackMask(), mask);
  }
  CHECK_EQ(device.command("FEEDBACK,8"), one("NAK,FEEDBACK,range"));
  CHECK_EQ(device.command("FEEDBACK,-1"), one("NAK,FEEDBACK,range"));
  CHECK_EQ(device.command("FEEDBACK"), one("NAK,FEEDBACK,syntax"));
  CHECK_EQ(device.core->feedbackMask(), 7);
}

TEST(zone_is_checked) {
  TestDevice device;
  device.boot();
  device.lines();
  for (int zone = 0; zone <= 3; zone++) {
    CHECK_EQ(device.command("ZONE," + std::to_string(zone)), one("ACK,ZONE"));
    CHECK_EQ(device.core->zone(), zone);
  }
  CHECK_EQ(device.command("ZONE,4"), one("NAK,ZONE,range"));
  CHECK_EQ(device.command("ZONE,-1"), one("NAK,ZONE,range"));
  CHECK_EQ(device.command("ZONE,1,2"), one("NAK,ZONE,syntax"));
}

TEST(tare_is_a_no_op_on_fsr) {
  TestDevice device;
  device.boot();
  device.lines();
  CHECK_EQ(device.command("TARE"), one("ACK,TARE"));
  device.sample(300);
  CHECK(startsWith(device.lines().at(0), "S,0,"));
  CHECK_EQ(device.command("TARE,1"), one("NAK,TARE,syntax"));
}

TEST(tare_zeroes_the_hx711_from_16_conversions) {
  TestDevice device(kHx711Profile);
  device.boot();
  device.lines();
  device.samples(15, 50000);
  CHECK_EQ(device.command("TARE"), one("NAK,TARE,range"));  // only 15 conversions yet
  device.samples(8, 50000);
  device.samples(8, 50010);        // the last 16: eight 50000s and eight 50010s
  device.samples(4, 50010, false); // repeated, not new conversions: not counted
  device.lines();
  CHECK_EQ(device.command("TARE"), one("ACK,TARE"));
  CHECK_EQ(device.core->settings().tareOffset, 50005);
  device.sample(50105);
  std::vector<std::string> lines = device.lines();
  CHECK_EQ(lines.size(), 1u);
  CHECK(lines.at(0).size() > 4 && lines.at(0).substr(lines.at(0).rfind(',')) == ",100");
  // Negative readings round half away from zero.
  device.samples(15, -20);
  device.sample(-21);
  device.lines();
  CHECK_EQ(device.command("TARE"), one("ACK,TARE"));
  CHECK_EQ(device.core->settings().tareOffset, -20);
}

TEST(tared_raw_stays_within_signed_24_bits) {
  TestDevice device(kHx711Profile);
  device.boot();
  device.samples(16, -8000000);
  device.lines();
  CHECK_EQ(device.command("TARE"), one("ACK,TARE"));
  device.sample(8388607);  // 16388607 above the offset: clamped
  std::vector<std::string> lines = device.lines();
  CHECK(lines.at(0).substr(lines.at(0).rfind(',')) == ",8388607");
}

TEST(unknown_commands_are_named_when_readable) {
  TestDevice device;
  device.boot();
  device.lines();
  CHECK_EQ(device.command("FOO"), one("NAK,FOO,unknown"));
  CHECK_EQ(device.command("FOO,1,2"), one("NAK,FOO,unknown"));
  CHECK_EQ(device.command("info"), one("NAK,info,unknown"));
  CHECK_EQ(device.command("INFOX"), one("NAK,INFOX,unknown"));
  CHECK_EQ(device.command("INF"), one("NAK,INF,unknown"));
  CHECK_EQ(device.command("F-O"), one("NAK,?,unknown"));
  CHECK_EQ(device.command("$X*"), one("NAK,?,unknown"));
  CHECK_EQ(device.command("ABCDEFGHIJKLMNOPQ"), one("NAK,?,unknown"));  // 17 letters: not echoed
  CHECK_EQ(device.command(""), one("NAK,?,syntax"));
  CHECK_EQ(device.command(",1"), one("NAK,?,syntax"));
}

TEST(checksum_errors_are_refused_and_change_nothing) {
  TestDevice device;
  device.boot();
  device.lines();
  CHECK_EQ(device.exchange("$STREAM,0*01\n"), one("NAK,?,checksum"));
  CHECK(device.core->streaming());
  CHECK_EQ(device.exchange("$STREAM,0\n"), one("NAK,?,checksum"));
  CHECK_EQ(device.exchange("STREAM,0\n"), one("NAK,?,checksum"));
  CHECK_EQ(device.exchange("INFO\r\n"), one("NAK,?,checksum"));
  CHECK_EQ(device.exchange("$LIMIT,600,550*5\n"), one("NAK,?,checksum"));
  CHECK(device.core->streaming());
  CHECK_EQ(device.core->settings().limitOn, kBuildCeilingFsr);
  CHECK_EQ(device.exchange("$STREAM,0*00\r\n"), one("ACK,STREAM"));  // CRLF from a terminal
  CHECK_EQ(device.exchange("$INFO*0e\n"), one(hello(device, "fsr,100," + atCeiling(kFsrProfile))));
}

TEST(non_printable_bytes_are_a_syntax_error) {
  TestDevice device;
  device.boot();
  device.lines();
  CHECK_EQ(device.exchange(std::string("$IN\0FO*0E\n", 10)), one("NAK,?,syntax"));
  CHECK_EQ(device.exchange("\xff\xfe\n"), one("NAK,?,syntax"));
  CHECK_EQ(device.exchange("\r\r\n"), one("NAK,?,syntax"));
}

TEST(empty_lines_get_no_reply) {
  TestDevice device;
  device.boot();
  device.lines();
  device.hostSends("\n\r\n\n");
  device.run(10000);
  CHECK(device.lines().empty());
  CHECK_EQ(device.command("INFO").size(), 1u);
}

TEST(over_long_lines_are_discarded_to_their_newline) {
  TestDevice device;
  device.boot();
  device.lines();
  const std::string body = "LIMIT," + std::string(70, '1') + ",0";  // 83 bytes with "$*HH\n"
  CHECK_EQ(device.command(body), one("NAK,?,syntax"));
  CHECK_EQ(device.exchange(std::string(2000, 'x') + "\n"), one("NAK,?,syntax"));
  CHECK_EQ(device.command("INFO"), one(hello(device, "fsr,100," + atCeiling(kFsrProfile))));
  // A line of exactly 80 bytes with its '\n' is read: here a well-formed
  // command with a 70-digit value, out of range.
  const std::string longest = "RATE," + std::string(70, '9');
  CHECK_EQ(frame(longest).size() + 1, 80u);
  CHECK_EQ(device.command(longest), one("NAK,RATE,range"));
}

TEST(lost_receive_bytes_refuse_the_damaged_line) {
  TestDevice device;
  device.boot();
  device.lines();
  device.hostSends("$STREAM,");
  device.hw.rx.push_back(kRxLost);
  CHECK_EQ(device.exchange("0*00\n"), one("NAK,?,checksum"));
  CHECK(device.core->streaming());
}

TEST(garbage_never_wedges_the_parser) {
  TestDevice device;
  device.boot();
  device.lines();
  uint32_t state = 12345;
  for (int round = 0; round < 300; round++) {
    std::string junk;
    const int length = static_cast<int>(state % 200);
    for (int i = 0; i < length; i++) {
      state = state * 1103515245u + 12345u;
      char c = static_cast<char>(state >> 24);
      if (c == '\n') c = '\r';
      junk += c;
    }
    state = state * 1103515245u + 12345u;
    // Every non-empty line gets exactly one reply, and it is a NAK.
    std::vector<std::string> replies = device.exchange(junk + "\n");
    if (junk.empty() || junk == "\r") {
      CHECK(replies.empty());
    } else {
      CHECK_EQ(replies.size(), 1u);
      CHECK(!replies.empty() && startsWith(replies.at(0), "NAK,"));
    }
    CHECK_EQ(device.command("INFO"), one(hello(device, "fsr,100," + atCeiling(kFsrProfile))));
  }
}

TEST(every_command_gets_one_reply_in_order_within_50_ms) {
  TestDevice device;
  device.boot();
  device.run(200000);
  device.lines();
  // Pipelined: the LIMIT's ACK waits for the EEPROM; the INFO behind it waits too.
  device.hostSends(frame("LIMIT,700,650") + "\n" + frame("INFO") + "\n" + frame("ZONE,9") + "\n" +
                   frame("LIMIT,760,750") + "\n" + frame("FEEDBACK,3") + "\n");
  std::vector<std::string> replies;
  uint32_t lastReplyUs = device.hw.now;
  for (int step = 0; step < 2000 && replies.size() < 5; step++) {
    device.run(100);
    for (const std::string& line : device.lines()) {
      replies.push_back(line);
      CHECK(device.hw.now - lastReplyUs <= 50000);
      lastReplyUs = device.hw.now;
    }
  }
  CHECK_EQ(replies, (std::vector<std::string>{"ACK,LIMIT", hello(device, "fsr,100,700,650," + std::to_string(kBuildCeilingFsr)), "NAK,ZONE,range",
                                              "ACK,LIMIT", "ACK,FEEDBACK"}));
  const char* commands[] = {"INFO", "STREAM,1", "RATE,200", "LIMIT,700,650", "FEEDBACK,7", "ZONE,2", "TARE", "CEILING,700"};
  for (const char* command : commands) {
    CHECK_EQ(device.command(command).size(), 1u);
    CHECK(device.lastReplyAfterUs <= 50000);
  }
}
