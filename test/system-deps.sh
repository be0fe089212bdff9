#!/usr/bin/env bash
# The system tools the project needs, in one place: `npm test` and `.ci/run` call this
# with no argument (everything the test suite needs); `npm run firmware` and `npm run
# doctor` ask it about one goal. As root, with no --check/--missing, it installs what is
# missing with apt-get; otherwise it prints the exact command to run and fails, so a test
# never skips silently for want of a tool.
#
#   bash test/system-deps.sh                    # tests: install (root) or name what is missing
#   bash test/system-deps.sh --check firmware   # only say what building the firmware lacks (exit 1)
#   bash test/system-deps.sh --missing emulator # the missing packages, one a line (exit 0)
#
# Goals: run (npm start), firmware (npm run firmware), flash (npm run flash),
# emulator (the emulated massager), tests (npm test: all of them).
set -euo pipefail

# goals:package:proof. The proof is a command looked up on PATH (no slash), or a file.
REQUIRED=(
  "tests:chromium:/usr/bin/chromium"
  "firmware,flash,emulator,tests:gcc-avr:avr-g++"
  "firmware,flash,emulator,tests:gcc-avr:avr-gcc"
  "firmware,flash,emulator,tests:avr-libc:/usr/lib/avr/include/avr/io.h"
  "firmware,flash,emulator,tests:binutils-avr:avr-objcopy"
  "tests:g++:g++"
  "firmware,flash,emulator,tests:make:make"
  "emulator,tests:gcc:gcc"
  "emulator,tests:simavr:/usr/bin/simavr"
  "emulator,tests:libsimavr-dev:/usr/include/simavr/parts/uart_pty.h"
  "emulator,tests:libelf-dev:/usr/include/libelf.h"
  "tests:socat:socat"
  "tests:iproute2:ip"
  "tests:util-linux:unshare"
  "tests:jq:jq"
  "flash,tests:avrdude:avrdude"
  "emulator,tests:arduino-core-avr:/usr/share/arduino/hardware/arduino/avr/bootloaders/optiboot/optiboot.c"
  "tests:postgresql:/usr/lib/postgresql/15/bin/initdb"
  "tests:redis-server:/usr/bin/redis-server"
)
GOALS="run firmware flash emulator tests"
declare -A PURPOSE=([run]="npm start" [firmware]="building the firmware (npm run firmware)"
  [flash]="flashing a board (npm run flash)" [emulator]="the emulated massager" [tests]="the tests (npm test)")

mode=install
goal=tests
case "${1:-}" in
  --check | --missing)
    mode=${1#--}
    goal=${2:-}
    if [[ " $GOALS " != *" $goal "* ]]; then
      echo "system-deps: $1 needs a goal: one of $GOALS" >&2
      exit 2
    fi
    ;;
  "") ;;
  *)
    echo "system-deps: unknown argument $1 (use --check GOAL or --missing GOAL; goals: $GOALS)" >&2
    exit 2
    ;;
esac

present() {
  if [[ $1 == */* ]]; then [ -e "$1" ]; else command -v "$1" >/dev/null 2>&1; fi
}

missing=()
for entry in "${REQUIRED[@]}"; do
  goals=${entry%%:*}
  rest=${entry#*:}
  package=${rest%%:*}
  proof=${rest#*:}
  [[ ",$goals," == *",$goal,"* ]] || continue
  present "$proof" && continue
  [[ " ${missing[*]:-} " == *" $package "* ]] || missing+=("$package")
done

if [ "$mode" = missing ]; then
  [ ${#missing[@]} -eq 0 ] || printf '%s\n' "${missing[@]}"
  exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0

command=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$mode" = install ] && [ "$(id -u)" -eq 0 ]; then
  echo "system-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  "${command[@]}"
else
  echo "system-deps: ${PURPOSE[$goal]} needs Debian packages that are missing: ${missing[*]}" >&2
  echo "system-deps: install them with:" >&2
  echo "  sudo apt-get update && sudo ${command[*]}" >&2
  [ "$goal" = tests ] || echo "system-deps: (or everything the project uses: sudo bash test/system-deps.sh)" >&2
  exit 1
fi
