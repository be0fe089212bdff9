/**
 * "Export" for the tables the dashboard builds itself (history, trends): the rows as a
 * CSV file, written by the same formula-safe code as the server's exports.
 */
import { csvTable, type CsvValue } from '../../../server/contract/csv.ts';

export function downloadCsv(fileName: string, header: readonly string[], rows: readonly (readonly CsvValue[])[]): void {
  const url = URL.createObjectURL(new Blob([csvTable(header, rows)], { type: 'text/csv;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Local date and time for a table, e.g. `2026-11-25 09:30`. */
export function localDateTime(iso: string): string {
  const date = new Date(iso);
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A local date (from a date input, `YYYY-MM-DD`) as the start of that day, ISO, for the API. */
export function localDayStart(day: string, plusDays = 0): string | undefined {
  if (day === '') return undefined;
  const [year = 0, month = 1, date = 1] = day.split('-').map(Number);
  return new Date(year, month - 1, date + plusDays).toISOString();
}
