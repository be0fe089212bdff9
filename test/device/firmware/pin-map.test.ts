// docs/hardware.md's pin map is the one table: the firmware's pins (the registers
// board.cpp drives, where they are) and the Firmata path's (FIRMATA_PINS) must both be
// what it says, and each row's Arduino pin must be the ATmega328P pin it names, by
// Arduino's own numbering (the standard variant's pins_arduino.h, from arduino-core-avr).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIRMATA_PINS } from '../../../device/firmata/board-link.ts';

interface PinRow {
  readonly pin: string;
  readonly chip: string;
  readonly direction: string;
  readonly use: string;
  readonly firmware: string;
  readonly firmata: string;
}

/** The rows of the table under `| pin | ATmega328P | direction |`. */
function pinTable(): PinRow[] {
  const lines = readFileSync('docs/hardware.md', 'utf8').split('\n');
  const header = lines.findIndex((line) => line.startsWith('| pin | ATmega328P | direction |'));
  expect(header, 'docs/hardware.md has the pin map table').toBeGreaterThanOrEqual(0);
  const rows: PinRow[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const [pin = '', chip = '', direction = '', use = '', firmware = '', firmata = ''] = line.split('|').slice(1, -1).map((cell) => cell.trim());
    rows.push({ pin, chip, direction, use, firmware, firmata });
  }
  return rows;
}

/** Arduino pin name -> ATmega328P pin (`D13` -> `PB5`, `A0` -> `ADC0`), from the standard variant. */
function arduinoNumbering(): Map<string, string> {
  const source = readFileSync('/usr/share/arduino/hardware/arduino/avr/variants/standard/pins_arduino.h', 'utf8');
  const array = (name: string): string[] => {
    const body = new RegExp(`${name}\\[\\] = \\{([^}]*)\\}`).exec(source)?.[1] ?? '';
    return body.replace(/\/\*.*?\*\//g, '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  };
  const ports = array('digital_pin_to_port_PGM');
  const bits = array('digital_pin_to_bit_mask_PGM').map((mask) => /_BV\((\d)\)/.exec(mask)?.[1] ?? '?');
  const numbering = new Map<string, string>();
  ports.forEach((port, index) => numbering.set(`D${index}`, `${port}${bits[index] ?? '?'}`));
  for (let channel = 0; channel < 6; channel++) numbering.set(`A${channel}`, `ADC${channel}`);
  return numbering;
}

const board = readFileSync('device/firmware/src/avr/board.cpp', 'utf8');

/** The body of `void AvrBoard::NAME(...)`. */
function method(name: string): string {
  const start = board.indexOf(`void AvrBoard::${name}(`);
  expect(start, `board.cpp has AvrBoard::${name}`).toBeGreaterThanOrEqual(0);
  return board.slice(start, board.indexOf('\n}\n', start));
}

function firstMatch(pattern: RegExp, text: string, what: string): RegExpExecArray {
  const match = pattern.exec(text);
  expect(match, what).not.toBeNull();
  return match as RegExpExecArray;
}

describe('the pin map in docs/hardware.md', () => {
  const rows = pinTable();
  const rowWhere = (test: (row: PinRow) => boolean, what: string): PinRow => {
    const found = rows.filter(test);
    expect(found, `one row for ${what}`).toHaveLength(1);
    return found[0] as PinRow;
  };

  it("names each pin as Arduino's numbering does", () => {
    const numbering = arduinoNumbering();
    expect(rows.length).toBeGreaterThanOrEqual(8);
    for (const row of rows) {
      const pins = row.pin.split(' / ');
      const chips = row.chip.split(' / ');
      expect(chips, row.pin).toHaveLength(pins.length);
      pins.forEach((pin, index) => expect(`${pin} = ${chips[index]}`).toBe(`${pin} = ${numbering.get(pin)}`));
    }
  });

  it('the firmware drives as outputs exactly the rows marked out', () => {
    const outputs = new Set([...board.matchAll(/(?<!~)_BV\(DD([BCD])(\d)\)/g)].map((match) => `P${match[1]}${match[2]}`));
    const marked = new Set(rows.filter((row) => row.direction === 'out').map((row) => row.chip));
    expect([...outputs].sort()).toEqual([...marked].sort());
  });

  it("the firmware's LED, motor, buzzer, sensor, HX711 and button pins are the table's", () => {
    const portBit = (text: string, what: string): string => {
      const match = firstMatch(/_BV\(PORT([BD])(\d)\)/, text, what);
      return `P${match[1]}${match[2]}`;
    };
    expect(portBit(method('setLed'), 'the LED')).toBe(rowWhere((row) => row.use.includes('LED'), 'the LED').chip);
    expect(portBit(method('setMotor'), 'the motor')).toBe(rowWhere((row) => row.use.includes('vibration motor'), 'the motor').chip);
    const toggled = firstMatch(/ISR\(TIMER2_COMPA_vect\) \{ PIN([BD]) = _BV\(PIN[BD](\d)\)/, board, 'the buzzer toggle');
    expect(`P${toggled[1]}${toggled[2]}`).toBe(rowWhere((row) => row.use.includes('piezo'), 'the buzzer').chip);
    expect(portBit(method('setBuzzer'), 'the buzzer off')).toBe(`P${toggled[1]}${toggled[2]}`);
    const adc = firstMatch(/DIDR0 = _BV\(ADC(\d)D\)/, board, 'the ADC input');
    expect(`ADC${adc[1]}`).toBe(rowWhere((row) => row.use.startsWith('FSR voltage divider'), 'the FSR').chip);
    const hx711 = firstMatch(/PORTD \|= _BV\(PORTD(\d)\);[\s\S]{0,200}?bit = \(PIND >> PIND(\d)\)/, board, 'the HX711 read');
    expect(`PD${hx711[1]}`).toBe(rowWhere((row) => row.use.startsWith('HX711 SCK'), 'HX711 SCK').chip);
    expect(`PD${hx711[2]}`).toBe(rowWhere((row) => row.use.startsWith('HX711 DOUT'), 'HX711 DOUT').chip);
    const buttons = firstMatch(/#if defined\(KNOTMETER_SENSOR_FSR\)\s*const uint8_t kButtonBit = PIND(\d);\s*#else\s*const uint8_t kButtonBit = PIND(\d);/, board, 'the thumb button');
    expect(`PD${buttons[1]}`).toBe(rowWhere((row) => row.firmware.includes('`fsr` build: the button'), 'the fsr build button').chip);
    expect(`PD${buttons[2]}`).toBe(rowWhere((row) => row.firmware.includes('`hx711` build: the button'), 'the hx711 build button').chip);
  });

  it("the Firmata path's pins (FIRMATA_PINS) are the table's", () => {
    for (const [key, value] of Object.entries(FIRMATA_PINS)) {
      const row = rowWhere((candidate) => candidate.firmata.startsWith(`\`${key}\``), `FIRMATA_PINS.${key}`);
      expect(`${key} on ${row.pin}`).toBe(`${key} on ${key === 'sensorAnalog' ? 'A' : 'D'}${value}`);
    }
  });
});
