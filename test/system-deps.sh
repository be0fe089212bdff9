#!/usr/bin/env bash
# The system tools the test suite needs, in one place: `npm test` and `.ci/run` both call
# this. As root it installs what is missing with apt-get; otherwise it prints the exact
# command to run and fails, so a test never skips silently for want of a tool.
set -euo pipefail

# package:file-that-proves-it-is-installed
REQUIRED=(
  "chromium:/usr/bin/chromium"
  "gcc-avr:/usr/bin/avr-gcc"
  "avr-libc:/usr/lib/avr/include/avr/io.h"
  "binutils-avr:/usr/bin/avr-objcopy"
  "g++:/usr/bin/g++"
  "make:/usr/bin/make"
  "gcc:/usr/bin/gcc"
  "simavr:/usr/bin/simavr"
  "libsimavr-dev:/usr/include/simavr/parts/uart_pty.h"
  "libelf-dev:/usr/include/libelf.h"
  "socat:/usr/bin/socat"
  "jq:/usr/bin/jq"
  "arduino-core-avr:/usr/share/arduino/hardware/arduino/avr/bootloaders/optiboot/optiboot_atmega328.hex"
  "postgresql:/usr/lib/postgresql/15/bin/initdb"
  "redis-server:/usr/bin/redis-server"
)

missing=()
for entry in "${REQUIRED[@]}"; do
  package=${entry%%:*}
  proof=${entry#*:}
  [ -e "$proof" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

command=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -eq 0 ]; then
  echo "system-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  "${command[@]}"
else
  echo "system-deps: the tests need Debian packages that are missing: ${missing[*]}" >&2
  echo "system-deps: install them with:" >&2
  echo "  sudo apt-get update && sudo ${command[*]}" >&2
  exit 1
fi
