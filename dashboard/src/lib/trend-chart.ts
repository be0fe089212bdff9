/**
 * One small multiple of the trends page: chart.js plotting one body area and knot's
 * holds over the weeks, each hold a dot (its duration in seconds, or its peak force) and
 * the weekly median as a line. Every multiple of a page gets the same axes, so they
 * compare at a glance. Dates are the browser's local ones (`localDay`).
 */
import { Chart, LinearScale, LineController, LineElement, PointElement, ScatterController } from 'chart.js';
import type { TrendGroup } from '../../../server/contract/records.ts';
import type { ForceUnit } from '../../../calibration/units.ts';
import { cssColour, stillChartOptions } from './chart-style.ts';
import { DAY_MS, localDay, weekDay, type TrendAxes } from './trend-axes.ts';
import { axisTitle, REVIEW_AREA_CM2, tickLabel, unitTicks } from './units.svelte.ts';

Chart.register(ScatterController, LineController, LineElement, PointElement, LinearScale);

export type TrendMetric = 'duration' | 'peak';

/** A local day (`localDay`) as `5 Oct`: the date in the browser's time zone. */
function dayLabel(day: number): string {
  // A local day read as if it were UTC gives the local calendar date.
  const date = new Date(Math.floor(day) * DAY_MS);
  return `${date.getUTCDate()} ${date.toLocaleString('en-GB', { month: 'short', timeZone: 'UTC' })}`;
}

/** The dates of a group's first and last hold in words, local time: `from 5 Oct to 13 Nov` (`on 5 Oct` for one day). */
export function holdDatesText(group: TrendGroup): string {
  const days = group.holds.map((hold) => localDay(Date.parse(hold.at)));
  if (days.length === 0) return 'with no hold';
  const [first, last] = [dayLabel(Math.min(...days)), dayLabel(Math.max(...days))];
  return first === last ? `on ${first}` : `from ${first} to ${last}`;
}

/**
 * The target the holds were held against (seconds), as a step line from the chart's left
 * edge to its right: flat while the preset stays the same, a step where it changed.
 */
function targetSteps(group: TrendGroup, axes: TrendAxes): { x: number; y: number }[] {
  const holds = [...group.holds].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const steps: { x: number; y: number }[] = [];
  for (const hold of holds) {
    const targetS = hold.targetHoldMs / 1000;
    if (steps.at(-1)?.y !== targetS) steps.push({ x: steps.length === 0 ? axes.fromDay : localDay(Date.parse(hold.at)), y: targetS });
  }
  const last = steps.at(-1);
  if (last !== undefined) steps.push({ x: axes.toDay, y: last.y });
  return steps;
}

/** `unit`: the force unit the peak chart's axis is labelled in (its data stay in newtons). */
export function createTrendChart(canvas: HTMLCanvasElement, group: TrendGroup, metric: TrendMetric, axes: TrendAxes, unit: ForceUnit): () => void {
  const dotColour = metric === 'duration' ? '#009E73' : '#E69F00';
  const lineColour = cssColour(canvas, '--chart-line', '#0072B2');
  const textColour = cssColour(canvas, '--chart-text', '#666');
  const gridColour = cssColour(canvas, '--chart-grid', 'rgba(128,128,128,0.25)');
  const value = (hold: TrendGroup['holds'][number]): number => (metric === 'duration' ? hold.durationMs / 1000 : hold.peakN);
  const chart = new Chart(canvas, {
    type: 'scatter',
    data: {
      datasets: [
        { label: 'hold', data: group.holds.map((hold) => ({ x: localDay(Date.parse(hold.at)), y: value(hold) })), backgroundColor: dotColour, borderColor: dotColour, pointRadius: 3 },
        {
          type: 'line',
          label: 'weekly median',
          // Each week's median across its week, broken between weeks.
          data: group.weeks.flatMap((week) => {
            const median = metric === 'duration' ? week.medianDurationMs / 1000 : week.medianPeakN;
            const start = weekDay(week.weekStart);
            return [
              { x: start, y: median },
              { x: start + 7, y: median },
              { x: start + 7, y: Number.NaN },
            ];
          }),
          borderColor: lineColour,
          backgroundColor: lineColour,
          borderWidth: 2,
          pointRadius: 0,
        },
        ...(metric === 'duration'
          ? [
              {
                type: 'line' as const,
                label: 'target',
                data: targetSteps(group, axes),
                stepped: 'before' as const,
                borderColor: textColour,
                borderDash: [6, 4],
                borderWidth: 1.5,
                pointRadius: 0,
              },
            ]
          : []),
      ],
    },
    options: {
      ...stillChartOptions(),
      plugins: { legend: { display: false }, tooltip: { enabled: false } },
      scales: {
        x: {
          type: 'linear',
          min: axes.fromDay,
          max: axes.toDay,
          title: { display: true, text: 'date', color: textColour },
          ticks: { callback: (tick) => dayLabel(Number(tick)), color: textColour, maxRotation: 0, autoSkipPadding: 12 },
          grid: { color: gridColour },
        },
        y: {
          type: 'linear',
          min: 0,
          max: metric === 'duration' ? axes.durationMaxS : axes.peakMaxN,
          title: { display: true, text: metric === 'duration' ? 'hold duration (s)' : `peak ${axisTitle(unit)}`, color: textColour },
          ...(metric === 'peak'
            ? {
                // The data stay in newtons; the ticks fall on round values of the chosen unit.
                afterBuildTicks: (scale: { min: number; max: number; ticks: { value: number }[] }) => {
                  scale.ticks = unitTicks(scale.min, scale.max, unit, REVIEW_AREA_CM2).map((tick) => ({ value: tick.valueN }));
                },
              }
            : {}),
          ticks: { color: textColour, ...(metric === 'peak' ? { callback: (tick: number | string) => tickLabel(Number(tick), unit, REVIEW_AREA_CM2) } : {}) },
          grid: { color: gridColour },
        },
      },
    },
  });
  return () => chart.destroy();
}
