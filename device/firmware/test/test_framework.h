// A minimal test runner for the firmware core on the host. Each test records
// its failures; the runner prints one JSON object per test on stdout, which the
// vitest suite (test/firmware/host.test.ts) turns into one vitest test each.
#ifndef KNOTMETER_TEST_FRAMEWORK_H
#define KNOTMETER_TEST_FRAMEWORK_H

#include <sstream>
#include <string>
#include <vector>

namespace testing {

struct TestCase {
  const char* name;
  void (*run)();
};

std::vector<TestCase>& registry();
void fail(const std::string& message, const char* file, int line);

struct Registrar {
  Registrar(const char* name, void (*run)()) { registry().push_back(TestCase{name, run}); }
};

template <typename T>
std::string show(const T& value) {
  std::ostringstream out;
  out << value;
  return out.str();
}
inline std::string show(const std::string& value) { return "\"" + value + "\""; }
inline std::string show(const char* value) { return "\"" + std::string(value) + "\""; }
inline std::string show(bool value) { return value ? "true" : "false"; }
inline std::string show(unsigned char value) { return show(static_cast<unsigned>(value)); }
inline std::string show(signed char value) { return show(static_cast<int>(value)); }
inline std::string show(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); i++) out += (i ? ", " : "") + show(values[i]);
  return out + "]";
}

template <typename A, typename B>
void checkEqual(const A& actual, const B& expected, const char* actualText, const char* expectedText,
                const char* file, int line) {
  if (actual == expected) return;
  fail(std::string(actualText) + " == " + expectedText + ": got " + show(actual) + ", expected " + show(expected),
       file, line);
}

}  // namespace testing

#define TEST(name)                                                   \
  static void name();                                                \
  static const testing::Registrar name##_registrar(#name, &name);    \
  static void name()

#define CHECK(condition) \
  do {                                                                   \
    if (!(condition)) testing::fail("CHECK(" #condition ")", __FILE__, __LINE__); \
  } while (0)

#define CHECK_EQ(actual, expected) testing::checkEqual((actual), (expected), #actual, #expected, __FILE__, __LINE__)

#endif
