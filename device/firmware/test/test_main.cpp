// Runs every registered test (or those named on the command line) and prints
// one JSON line per test: {"name": "...", "failures": ["file:line: message", ...]}.
// Exits non-zero if any test failed. `--list` prints the names only.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "test_framework.h"

namespace testing {

namespace {
std::vector<std::string>* currentFailures = nullptr;

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c > 0x7E) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}
}  // namespace

std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}

void fail(const std::string& message, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  currentFailures->push_back(std::string(base ? base + 1 : file) + ":" + std::to_string(line) + ": " + message);
}

}  // namespace testing

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--list") == 0) {
    for (const testing::TestCase& test : testing::registry()) std::printf("%s\n", test.name);
    return 0;
  }
  int failed = 0;
  int ran = 0;
  for (const testing::TestCase& test : testing::registry()) {
    bool selected = argc == 1;
    for (int i = 1; i < argc; i++) selected = selected || std::strcmp(argv[i], test.name) == 0;
    if (!selected) continue;
    std::vector<std::string> failures;
    testing::currentFailures = &failures;
    test.run();
    ran++;
    if (!failures.empty()) failed++;
    std::string line = "{\"name\":" + testing::jsonString(test.name) + ",\"failures\":[";
    for (size_t i = 0; i < failures.size(); i++) line += (i ? "," : "") + testing::jsonString(failures[i]);
    std::printf("%s]}\n", line.c_str());
  }
  std::fprintf(stderr, "%d tests, %d failed\n", ran, failed);
  return failed == 0 && ran > 0 ? 0 : 1;
}
