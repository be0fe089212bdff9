#!/usr/bin/env bash
# Prints the flash and RAM use of each firmware ELF and fails above the budget:
# 90 % of the flash an Uno/Nano leaves to the sketch beside its Optiboot
# bootloader (32768 - 512 = 32256 bytes), 75 % of the 2048 bytes of RAM for
# .data + .bss (the rest is the stack's). The environment can override the
# sizes (the tests use that to prove the check fails).
set -euo pipefail

flash_usable=${FLASH_USABLE_BYTES:-32256}
ram_bytes=${RAM_BYTES:-2048}
flash_limit=$((flash_usable * 90 / 100))
ram_limit=$((ram_bytes * 75 / 100))

status=0
for elf in "$@"; do
  read -r text data bss < <(avr-size -B "$elf" | awk 'NR == 2 { print $1, $2, $3 }')
  flash=$((text + data))
  ram=$((data + bss))
  awk -v name="$(basename "$elf" .elf)" -v flash="$flash" -v fu="$flash_usable" -v ram="$ram" -v rb="$ram_bytes" \
    'BEGIN { printf "%s: flash %d of %d bytes (%.1f %%), RAM %d of %d bytes (%.1f %%)\n", name, flash, fu, 100 * flash / fu, ram, rb, 100 * ram / rb }'
  if [ "$flash" -gt "$flash_limit" ]; then
    echo "error: $elf uses $flash bytes of flash, over the limit of $flash_limit (90 % of $flash_usable)" >&2
    status=1
  fi
  if [ "$ram" -gt "$ram_limit" ]; then
    echo "error: $elf uses $ram bytes of RAM for .data + .bss, over the limit of $ram_limit (75 % of $ram_bytes)" >&2
    status=1
  fi
done
exit "$status"
