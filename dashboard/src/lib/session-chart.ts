/**
 * The whole-session chart of the review page: chart.js drawing the force envelope the
 * API serves (the lowest and highest force per slice of time, filled between, so a spike
 * shows at any zoom), the zones shaded as on the live chart, each hold as a numbered span
 * in the band's colour and each over-pressure warning as a span in the warning's colour.
 * The page asks for a new envelope whenever the visible range changes (zoom), so the
 * detail grows as the range shrinks, down to single samples.
 */
import { Chart, Filler, LinearScale, LineController, LineElement, PointElement } from 'chart.js';
import annotationPlugin, { type AnnotationOptions } from 'chartjs-plugin-annotation';
import type { SampleEnvelope, SessionDetail } from '../../../server/contract/records.ts';
import type { ForceUnit } from '../../../calibration/units.ts';
import { cssColour, stillChartOptions, translucent } from './chart-style.ts';
import { clockTickLabel, clockTicks } from './clock.ts';
import { axisTitle, REVIEW_AREA_CM2, tickLabel, units, unitTicks } from './units.svelte.ts';
import { scaleMaxN, ZONE_COLOURS, zoneRanges } from './zones.ts';

Chart.register(LineController, LineElement, PointElement, LinearScale, Filler, annotationPlugin);

/** Points of a series, with a break (NaN) wherever the envelope skipped empty buckets: missing data is not drawn. */
function series(envelope: SampleEnvelope, values: readonly number[]): { x: number; y: number }[] {
  const points: { x: number; y: number }[] = [];
  const gapMs = envelope.exact ? Number.POSITIVE_INFINITY : envelope.bucketMs * 1.5;
  for (const [index, tMs] of envelope.tMs.entries()) {
    const previousMs = envelope.tMs[index - 1];
    if (previousMs !== undefined && tMs - previousMs > gapMs) points.push({ x: (previousMs + tMs) / 2000, y: Number.NaN });
    points.push({ x: tMs / 1000, y: values[index] ?? Number.NaN });
  }
  return points;
}

function marks(session: SessionDetail, selectedHold: number | null): AnnotationOptions[] {
  const config = session.engineConfig;
  const annotations: AnnotationOptions[] = zoneRanges(config)
    .filter((range) => range.zone !== 'below')
    .map((range) => ({
      type: 'box',
      yMin: range.fromN,
      ...(Number.isFinite(range.toN) ? { yMax: range.toN } : {}),
      backgroundColor: translucent(ZONE_COLOURS[range.zone], 0.06),
      borderWidth: 0,
      drawTime: 'beforeDatasetsDraw',
    }));
  annotations.push({ type: 'line', yMin: config.overLimitN, yMax: config.overLimitN, borderColor: ZONE_COLOURS.over, borderWidth: 2, borderDash: [6, 4], drawTime: 'beforeDatasetsDraw' });
  for (const hold of session.holds) {
    const selected = hold.number === selectedHold;
    annotations.push({
      type: 'box',
      xMin: hold.startMs / 1000,
      xMax: hold.endMs / 1000,
      backgroundColor: translucent(ZONE_COLOURS.band, selected ? 0.3 : 0.14),
      borderColor: ZONE_COLOURS.band,
      borderWidth: selected ? 2 : 1,
      drawTime: 'beforeDatasetsDraw',
      label: { display: true, content: `#${hold.number}`, position: { x: 'start', y: 'start' }, color: ZONE_COLOURS.band, font: { size: 11, weight: 'bold' } },
    });
  }
  for (const warning of session.warnings) {
    annotations.push({
      type: 'box',
      xMin: warning.startMs / 1000,
      xMax: (warning.endMs ?? session.durationMs) / 1000,
      yMin: config.overLimitN,
      backgroundColor: translucent(ZONE_COLOURS.over, 0.3),
      borderColor: ZONE_COLOURS.over,
      borderWidth: 1,
      drawTime: 'beforeDatasetsDraw',
      label: { display: true, content: 'over', position: { x: 'start', y: 'start' }, color: ZONE_COLOURS.over, font: { size: 11, weight: 'bold' } },
    });
  }
  return annotations;
}

/** A stretch of the session, ms since its first sample. */
export interface ChartRange {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface SessionChart {
  /** Draws an envelope over its range. */
  show(envelope: SampleEnvelope): void;
  /** Emphasises the span of one hold, by its `number` (null: none). */
  select(holdNumber: number | null): void;
  /** The session time (ms) at a horizontal pixel of the canvas. */
  msAt(pixelX: number): number;
  /** Labels the force axis in `unit` (the data stay in newtons). */
  setUnit(unit: ForceUnit): void;
  destroy(): void;
}

export function createSessionChart(canvas: HTMLCanvasElement, session: SessionDetail): SessionChart {
  const lineColour = cssColour(canvas, '--chart-line', '#0072B2');
  const gridColour = cssColour(canvas, '--chart-grid', 'rgba(128,128,128,0.25)');
  const textColour = cssColour(canvas, '--chart-text', '#666');
  let selected: number | null = null;
  let unit: ForceUnit = units.unit;
  const chart = new Chart<'line', { x: number; y: number }[]>(canvas, {
    type: 'line',
    data: {
      datasets: [
        { label: 'highest force', data: [], borderColor: lineColour, borderWidth: 1.5, pointRadius: 0, fill: false },
        { label: 'lowest force', data: [], borderColor: lineColour, borderWidth: 1, pointRadius: 0, fill: '-1', backgroundColor: translucent(lineColour.length === 7 ? lineColour : '#0072B2', 0.35) },
      ],
    },
    options: {
      ...stillChartOptions(),
      parsing: false,
      normalized: true,
      plugins: { legend: { display: false }, tooltip: { enabled: false }, annotation: { annotations: marks(session, selected) } },
      scales: {
        x: {
          type: 'linear',
          min: 0,
          max: Math.max(session.durationMs, 1) / 1000,
          title: { display: true, text: 'time since the session started (m:ss)', color: textColour },
          // Round clock steps at every zoom (chart.js's own would give 0:50, 1:40 or ten ticks all reading 0:05).
          afterBuildTicks: (scale) => {
            scale.ticks = clockTicks(scale.min, scale.max).map((value) => ({ value }));
          },
          ticks: {
            callback: (value, _index, ticks) => clockTickLabel(Number(value), ticks.length > 1 ? (ticks[1]?.value ?? 1) - (ticks[0]?.value ?? 0) : 1),
            color: textColour,
            maxRotation: 0,
          },
          grid: { color: gridColour },
        },
        y: {
          type: 'linear',
          min: 0,
          suggestedMax: scaleMaxN(session.engineConfig),
          title: { display: true, text: axisTitle(unit), color: textColour },
          // The data stay in newtons; the ticks fall on round values of the chosen unit.
          afterBuildTicks: (scale) => {
            scale.ticks = unitTicks(scale.min, scale.max, unit, REVIEW_AREA_CM2).map((tick) => ({ value: tick.valueN }));
          },
          ticks: { color: textColour, callback: (tick) => tickLabel(Number(tick), unit, REVIEW_AREA_CM2) },
          grid: { color: gridColour },
        },
      },
    },
  });

  return {
    show(envelope) {
      const [highest, lowest] = chart.data.datasets;
      if (highest === undefined || lowest === undefined) return;
      highest.data = series(envelope, envelope.maxN);
      lowest.data = series(envelope, envelope.minN);
      const xScale = chart.options.scales?.x;
      if (xScale !== undefined) {
        xScale.min = envelope.fromMs / 1000;
        xScale.max = envelope.toMs / 1000;
      }
      chart.update('none');
    },
    select(holdNumber) {
      selected = holdNumber;
      const annotation = chart.options.plugins?.annotation;
      if (annotation !== undefined) annotation.annotations = marks(session, selected);
      chart.update('none');
    },
    msAt(pixelX) {
      return (chart.scales.x?.getValueForPixel(pixelX) ?? 0) * 1000;
    },
    setUnit(newUnit) {
      if (newUnit === unit) return;
      unit = newUnit;
      const title = chart.options.scales?.y?.title;
      if (title !== undefined) title.text = axisTitle(unit);
      chart.update('none');
    },
    destroy() {
      chart.destroy();
    },
  };
}
