// The EEPROM layout: device id made once and kept, LIMIT and tare kept across
// reboots, blank/corrupt/foreign records replaced by defaults, torn writes.
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "test_device.h"
#include "test_framework.h"

using namespace knotmeter;
using namespace testing;

namespace {

uint32_t inverseOf(uint32_t odd) {
  uint32_t inverse = odd;  // Newton's iteration doubles the correct bits each step
  for (int i = 0; i < 5; i++) inverse *= 2u - odd * inverse;
  return inverse;
}

uint32_t unmix(uint32_t value) {
  value ^= value >> 16;
  value *= inverseOf(0xC2B2AE35u);
  value ^= (value >> 13) ^ (value >> 26);
  value *= inverseOf(0x85EBCA6Bu);
  value ^= value >> 16;
  return value;
}

void settle(TestDevice& device) { device.run(200000); }

// No ceiling record: the build's default applies (the raw is not written).
const Ceiling kNoCeiling = {0, false};
// HELLO's tail with the thresholds of a blank EEPROM: at the build's ceiling.
const std::string kDefaults = "fsr,100," + atCeiling(kFsrProfile);

std::string helloTail(TestDevice& device) {
  const std::vector<std::string> reply = device.command("INFO");
  if (reply.size() != 1) return "no reply";
  const std::string& hello = reply[0];
  // HELLO,1,<fw>,<id>,<sensor>,<rate>,<on>,<off>: from <sensor> on.
  size_t at = 0;
  for (int commas = 0; commas < 4 && at != std::string::npos; commas++) at = hello.find(',', at + 1);
  return at == std::string::npos ? hello : hello.substr(at + 1);
}

}  // namespace

TEST(first_boot_makes_an_id_and_keeps_it) {
  TestDevice device;
  device.hw.entropyValues = {0x1234, 0x0042, 0xBEEF, 0x7, 0x99, 0x3, 0x5555, 0xA0A0};
  device.boot();
  CHECK_EQ(device.hw.entropyCalls, static_cast<int>(kEntropySamples));
  const uint32_t id = device.core->deviceId();
  CHECK(validDeviceId(id));
  settle(device);
  CHECK_EQ(device.hw.eepromMisuse, 0);
  CHECK_EQ(device.hw.eeprom[0], kIdentityMagic);
  const int writes = device.hw.eepromWrites;
  device.reboot();
  settle(device);
  CHECK_EQ(device.core->deviceId(), id);
  CHECK_EQ(device.hw.entropyCalls, static_cast<int>(kEntropySamples));  // not asked again
  CHECK_EQ(device.hw.eepromWrites, writes);  // nothing rewritten
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", id);
  CHECK_EQ(device.command("INFO").at(0).substr(0, 23), "HELLO,1,1.2.0," + std::string(hex) + ",");
}

TEST(ids_differ_with_the_noise) {
  std::set<uint32_t> ids;
  for (uint16_t seed = 0; seed < 200; seed++) {
    TestDevice device;
    device.hw.entropyValues = {seed, static_cast<uint16_t>(seed * 7u)};
    device.boot();
    ids.insert(device.core->deviceId());
  }
  CHECK_EQ(ids.size(), 200u);
}

TEST(id_is_never_all_zeros_or_all_ones) {
  // A noise source stuck at 0 still gives a valid id.
  TestDevice stuck;
  stuck.boot();
  CHECK(validDeviceId(stuck.core->deviceId()));
  // The two pools whose mix is 00000000 and ffffffff step on to the next value.
  CHECK_EQ(finalMix(unmix(0)), 0u);
  CHECK_EQ(finalMix(unmix(0xFFFFFFFFu)), 0xFFFFFFFFu);
  CHECK_EQ(deviceIdFromPool(unmix(0)), finalMix(unmix(0) + 0x9E3779B9u));
  CHECK_EQ(deviceIdFromPool(unmix(0xFFFFFFFFu)), finalMix(unmix(0xFFFFFFFFu) + 0x9E3779B9u));
  CHECK(validDeviceId(deviceIdFromPool(unmix(0))));
  CHECK(validDeviceId(deviceIdFromPool(unmix(0xFFFFFFFFu))));
  CHECK(!validDeviceId(0));
  CHECK(!validDeviceId(0xFFFFFFFFu));
}

TEST(stored_id_of_zeros_or_ones_is_replaced) {
  for (uint32_t bad : {0u, 0xFFFFFFFFu}) {
    uint8_t image[kEepromImageBytes];
    encodeImage(bad, kDefaultSettings, kNoCeiling, kSensorFsr, image);  // a valid CRC around a forbidden id
    TestDevice device;
    std::memcpy(device.hw.eeprom, image, sizeof(image));
    device.hw.entropyValues = {0x4321};
    device.boot();
    CHECK(validDeviceId(device.core->deviceId()));
    CHECK_EQ(device.hw.entropyCalls, static_cast<int>(kEntropySamples));
  }
}

TEST(limit_survives_a_reboot) {
  TestDevice device;
  device.boot();
  settle(device);
  CHECK_EQ(device.command("LIMIT,640,600"), one("ACK,LIMIT"));
  device.reboot();
  const std::vector<std::string> boot = device.lines();
  CHECK_EQ(boot.size(), 1u);
  CHECK(!boot.empty() && boot[0].substr(boot[0].size() - 20) == ",fsr,100,640,600,767");
  CHECK_EQ(helloTail(device), std::string("fsr,100,640,600,767"));
  CHECK_EQ(device.core->settings().limitOn, 640);
  CHECK_EQ(device.core->settings().limitOff, 600);
}

TEST(tare_survives_a_reboot) {
  TestDevice device(kHx711Profile);
  device.boot();
  device.samples(16, 123456);
  CHECK_EQ(device.command("TARE"), one("ACK,TARE"));
  device.reboot();
  device.lines();
  CHECK_EQ(device.core->settings().tareOffset, 123456);
  device.sample(123466);
  CHECK_EQ(device.lines(), one("S,0,12500,10"));
}

TEST(blank_eeprom_gets_defaults) {
  TestDevice device;  // all 0xFF
  device.boot();
  CHECK_EQ(helloTail(device), kDefaults);
  settle(device);
  uint8_t image[kEepromImageBytes];
  Settings atTheCeiling = kDefaultSettings;
  defaultLimits(kBuildCeilingFsr, atTheCeiling);
  encodeImage(device.core->deviceId(), atTheCeiling, kNoCeiling, kSensorFsr, image);
  CHECK(std::memcmp(device.hw.eeprom, image, sizeof(image)) == 0);
  for (uint8_t i = kCeilingAddress; i < kEepromImageBytes; i++) CHECK_EQ(device.hw.eeprom[i], 0xFF);  // no ceiling stored
  // An all-zero EEPROM is not a valid record either.
  TestDevice zeros;
  std::memset(zeros.hw.eeprom, 0, sizeof(zeros.hw.eeprom));
  zeros.boot();
  CHECK(validDeviceId(zeros.core->deviceId()));
  CHECK_EQ(helloTail(zeros), kDefaults);
}

TEST(corrupt_settings_get_defaults_and_keep_the_id) {
  TestDevice device;
  device.boot();
  settle(device);
  CHECK_EQ(device.command("LIMIT,640,600"), one("ACK,LIMIT"));
  const uint32_t id = device.core->deviceId();
  device.hw.eeprom[kSettingsAddress + 4] ^= 0x01;  // one bit of limit_on
  device.reboot();
  CHECK_EQ(device.core->deviceId(), id);
  CHECK_EQ(helloTail(device), kDefaults);
  settle(device);
  device.reboot();  // and the defaults were written back
  CHECK_EQ(helloTail(device), kDefaults);
}

TEST(corrupt_identity_gets_a_new_id_and_keeps_the_settings) {
  TestDevice device;
  device.hw.entropyValues = {1};
  device.boot();
  settle(device);
  CHECK_EQ(device.command("LIMIT,640,600"), one("ACK,LIMIT"));
  const uint32_t id = device.core->deviceId();
  device.hw.eeprom[kIdentityAddress + 3] ^= 0x80;
  device.hw.entropyValues = {2};
  device.reboot();
  CHECK(device.core->deviceId() != id);
  CHECK(validDeviceId(device.core->deviceId()));
  CHECK_EQ(helloTail(device), std::string("fsr,100,640,600,767"));
}

TEST(foreign_or_invalid_settings_records_get_defaults) {
  uint8_t image[kEepromImageBytes];
  Settings settings = {640, 600, 0};
  // A record written by the hx711 build.
  encodeImage(0x12345678u, settings, kNoCeiling, kSensorHx711, image);
  TestDevice fsr;
  std::memcpy(fsr.hw.eeprom, image, sizeof(image));
  fsr.boot();
  CHECK_EQ(fsr.core->deviceId(), 0x12345678u);
  CHECK_EQ(helloTail(fsr), kDefaults);
  // A valid CRC around limits LIMIT would refuse.
  settings.limitOn = 500;
  encodeImage(0x12345678u, settings, kNoCeiling, kSensorFsr, image);
  TestDevice invalid;
  std::memcpy(invalid.hw.eeprom, image, sizeof(image));
  invalid.boot();
  CHECK_EQ(helloTail(invalid), kDefaults);
  // A layout version this firmware does not know.
  settings.limitOn = 640;
  encodeImage(0x12345678u, settings, kNoCeiling, kSensorFsr, image);
  image[kSettingsAddress + 1] = 2;
  image[kSettingsAddress + 15] = crc8(image + kSettingsAddress, 15);
  TestDevice future;
  std::memcpy(future.hw.eeprom, image, sizeof(image));
  future.boot();
  CHECK_EQ(helloTail(future), kDefaults);
  // And the record as this build writes it is read back.
  encodeImage(0x12345678u, settings, kNoCeiling, kSensorFsr, image);
  TestDevice good;
  std::memcpy(good.hw.eeprom, image, sizeof(image));
  good.boot();
  CHECK_EQ(helloTail(good), std::string("fsr,100,640,600,767"));
}

TEST(a_write_cut_short_by_a_reset_never_mixes_old_and_new) {
  // Reset after each number of bytes written: the thresholds read back are
  // either the old pair, the new pair, or the defaults, never a mixture.
  bool sawOld = false, sawNew = false, sawDefaults = false;
  for (int cutAfter = 0; cutAfter < 12; cutAfter++) {
    TestDevice device;
    device.boot();
    settle(device);
    CHECK_EQ(device.command("LIMIT,700,10"), one("ACK,LIMIT"));
    const int before = device.hw.eepromWrites;
    device.hostSends(frame("LIMIT,300,250") + "\n");
    while (device.hw.eepromWrites - before < cutAfter) {
      device.hw.now += 100;
      device.core->update();
      if (device.hw.now > 10000000u) break;
    }
    device.reboot();
    const std::string tail = helloTail(device);
    CHECK(tail == "fsr,100,700,10,767" || tail == "fsr,100,300,250,767" || tail == kDefaults);
    sawOld = sawOld || tail == "fsr,100,700,10,767";
    sawNew = sawNew || tail == "fsr,100,300,250,767";
    sawDefaults = sawDefaults || tail == kDefaults;
  }
  CHECK(sawOld && sawNew && sawDefaults);  // every kind of cut happened
}

TEST(a_1_1_0_eeprom_with_the_alarm_off_keeps_its_tare_and_gets_the_ceiling) {
  uint8_t image[kEepromImageBytes];
  const Settings off = {0, 0, 4321};  // 1.1.0 accepted LIMIT,0,0
  encodeImage(0x12345678u, off, kNoCeiling, kSensorHx711, image);
  TestDevice device(kHx711Profile);
  std::memcpy(device.hw.eeprom, image, kCeilingAddress);  // 1.1.0 wrote 24 bytes; the rest is blank
  device.boot();
  CHECK_EQ(device.core->settings().tareOffset, 4321);
  CHECK_EQ(device.core->settings().limitOn, kBuildCeilingHx711);
  // And limits above the ceiling, as 1.1.0 allowed.
  const Settings high = {8000000, 7000000, 4321};
  encodeImage(0x12345678u, high, kNoCeiling, kSensorHx711, image);
  std::memcpy(device.hw.eeprom, image, kCeilingAddress);
  device.reboot();
  CHECK_EQ(device.core->settings().tareOffset, 4321);
  CHECK_EQ(device.core->settings().limitOn, kBuildCeilingHx711);
}

TEST(a_stored_ceiling_survives_a_limit_write_cut_short_and_a_corrupt_one_is_cleared) {
  for (int cutAfter = 0; cutAfter < 6; cutAfter++) {
    TestDevice device;
    device.thumbButtonHeld = true;
    device.boot();
    settle(device);
    CHECK_EQ(device.command("CEILING,900"), one("ACK,CEILING"));
    CHECK_EQ(device.command("LIMIT,800,700"), one("ACK,LIMIT"));
    const int before = device.hw.eepromWrites;
    device.hostSends(frame("LIMIT,300,250") + "\n");
    while (device.hw.eepromWrites - before < cutAfter) {
      device.hw.now += 100;
      device.core->update();
      if (device.hw.now > 10000000u) break;
    }
    device.thumbButtonHeld = false;
    device.reboot();
    CHECK_EQ(device.core->ceiling().raw, 900);
    CHECK(device.core->ceiling().stored);
  }
  TestDevice device;
  device.thumbButtonHeld = true;
  device.boot();
  settle(device);
  CHECK_EQ(device.command("CEILING,700"), one("ACK,CEILING"));
  device.hw.eeprom[kCeilingAddress + 3] ^= 0x01;
  device.reboot();
  CHECK_EQ(device.core->ceiling().raw, kBuildCeilingFsr);
  CHECK(!device.core->ceiling().stored);
  settle(device);
  for (uint8_t i = kCeilingAddress; i < kEepromImageBytes; i++) CHECK_EQ(device.hw.eeprom[i], 0xFF);
  // A record of the other build is not used either.
  TestDevice hx(kHx711Profile);
  hx.thumbButtonHeld = true;
  hx.boot();
  settle(hx);
  CHECK_EQ(hx.command("CEILING,700"), one("ACK,CEILING"));
  TestDevice fsr;
  std::memcpy(fsr.hw.eeprom, hx.hw.eeprom, kEepromImageBytes);
  fsr.boot();
  CHECK_EQ(fsr.core->ceiling().raw, kBuildCeilingFsr);
}

TEST(unchanged_values_are_not_rewritten) {
  TestDevice device;
  device.boot();
  settle(device);
  CHECK_EQ(device.command("LIMIT,640,600"), one("ACK,LIMIT"));
  const int writes = device.hw.eepromWrites;
  CHECK_EQ(device.command("LIMIT,640,600"), one("ACK,LIMIT"));
  CHECK_EQ(device.hw.eepromWrites, writes);
  CHECK_EQ(device.command("LIMIT,641,600"), one("ACK,LIMIT"));
  CHECK_EQ(device.hw.eepromWrites, writes + 2);  // one byte of limit_on and the CRC
  CHECK_EQ(device.hw.eepromMisuse, 0);
}

TEST(crc8_is_crc8_smbus) {
  const uint8_t check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  CHECK_EQ(crc8(check, sizeof(check)), 0xF4);  // the catalogue's check value
}
