/**
 * The live force chart: chart.js drawing a device's last 30 s, redrawn once per animation
 * frame (not per message), so it scrolls smoothly whatever the sample rate. At 1 kHz
 * the window holds 30 000 points; each frame hands chart.js only the window thinned to
 * the canvas's pixel columns (`decimate.ts`), with `parsing: false` and numeric `{x, y}`
 * points, so chart.js's per-update work does not grow with the sample rate. The zones
 * are shaded behind the trace (the same marks as the gauge) and each over-pressure
 * warning is marked where it happened.
 */
import { Chart, LinearScale, LineController, LineElement, PointElement } from 'chart.js';
import annotationPlugin, { type AnnotationOptions } from 'chartjs-plugin-annotation';
import type { EngineConfig, WarningResult } from '../../../server/engine/results.ts';
import { cssColour, stillChartOptions, translucent } from './chart-style.ts';
import { decimateMinMax } from './decimate.ts';
import type { ChartPoint } from './reading-buffer.ts';
import { CHART_WINDOW_MS, type DeviceView } from './live.svelte.ts';
import { areaOf, axisTitle, tickLabel, unitTicks, units } from './units.svelte.ts';
import { scaleMaxN, ZONE_COLOURS, zoneRanges } from './zones.ts';

Chart.register(LineController, LineElement, PointElement, LinearScale, annotationPlugin);

const TICK_STEP_S = 5;

/** Tick labels as device clock time, m:ss, so labels move with the data and never jump. */
function clockLabel(seconds: number): string {
  if (seconds < 0) return '';
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

function zoneBands(config: EngineConfig): AnnotationOptions[] {
  const bands: AnnotationOptions[] = zoneRanges(config)
    .filter((range) => range.zone !== 'below')
    .map((range) => ({
      type: 'box',
      yMin: range.fromN,
      ...(Number.isFinite(range.toN) ? { yMax: range.toN } : {}),
      backgroundColor: translucent(ZONE_COLOURS[range.zone], range.zone === 'over' ? 0.14 : 0.1),
      borderWidth: 0,
      drawTime: 'beforeDatasetsDraw',
    }));
  bands.push({ type: 'line', yMin: config.overLimitN, yMax: config.overLimitN, borderColor: ZONE_COLOURS.over, borderWidth: 2, borderDash: [6, 4], drawTime: 'beforeDatasetsDraw' });
  return bands;
}

/** Each warning in view as a span from its start to its end (or to now while open). */
function warningSpans(warnings: readonly WarningResult[], openUntilS: number): AnnotationOptions[] {
  const inViewFromMs = openUntilS * 1000 - CHART_WINDOW_MS * 1.1;
  return warnings.filter((warning) => warning.endMs === null || warning.endMs >= inViewFromMs).map((warning) => ({
    type: 'box',
    xMin: warning.startMs / 1000,
    xMax: warning.endMs === null ? openUntilS : warning.endMs / 1000,
    backgroundColor: translucent(ZONE_COLOURS.over, 0.22),
    borderColor: ZONE_COLOURS.over,
    borderWidth: 1,
    drawTime: 'beforeDatasetsDraw',
    label: { display: true, content: 'over', position: 'start', color: ZONE_COLOURS.over, backgroundColor: 'transparent', font: { size: 11, weight: 'bold' } },
  }));
}

/** Creates the chart on `canvas` and keeps it moving; returns the function that stops it. */
export function startLiveChart(canvas: HTMLCanvasElement, device: DeviceView): () => void {
  const lineColour = cssColour(canvas, '--chart-line', '#0072B2');
  const gridColour = cssColour(canvas, '--chart-grid', 'rgba(128,128,128,0.25)');
  const textColour = cssColour(canvas, '--chart-text', '#666');
  // Declared before the chart: it builds its ticks (which read them) as it is made.
  let shownUnit = units.unit;
  let shownAreaCm2 = areaOf(device.info);
  const chart = new Chart<'line', ChartPoint[]>(canvas, {
    type: 'line',
    data: { datasets: [{ data: [], borderColor: lineColour, borderWidth: 2, pointRadius: 0, indexAxis: 'x' }] },
    options: {
      ...stillChartOptions(),
      parsing: false,
      normalized: true,
      plugins: {
        legend: { display: false },
        tooltip: { enabled: false },
        annotation: { annotations: [] },
      },
      scales: {
        x: {
          type: 'linear',
          title: { display: true, text: 'time (m:ss)', color: textColour },
          // Ticks on whole multiples of 5 s of device time, so they travel with the trace.
          afterBuildTicks: (scale) => {
            const firstS = Math.ceil(scale.min / TICK_STEP_S) * TICK_STEP_S;
            scale.ticks = Array.from({ length: Math.max(Math.floor((scale.max - firstS) / TICK_STEP_S) + 1, 0) }, (_, index) => ({ value: firstS + index * TICK_STEP_S }));
          },
          ticks: { callback: (value) => clockLabel(Number(value)), color: textColour, maxRotation: 0 },
          grid: { color: gridColour },
        },
        y: {
          type: 'linear',
          min: 0,
          title: { display: true, text: axisTitle(units.unit), color: textColour },
          // The data stay in newtons; the ticks fall on round values of the chosen unit.
          afterBuildTicks: (scale) => {
            scale.ticks = unitTicks(scale.min, scale.max, shownUnit, shownAreaCm2).map((tick) => ({ value: tick.valueN }));
          },
          ticks: { color: textColour, callback: (value) => tickLabel(Number(value), shownUnit, shownAreaCm2) },
          grid: { color: gridColour },
        },
      },
    },
  });

  let shownConfig: EngineConfig | null = null;
  let shownWarnings: readonly WarningResult[] | null = null;
  let shownOpen: WarningResult | null = null;
  let bands: AnnotationOptions[] = [];

  /** Rebuilds the marks only when what they show changed (the open warning grows every frame); true if it did. */
  function updateMarks(endS: number): boolean {
    const config = device.info.engineConfig;
    const { warnings, warning: open } = device.session;
    if (config !== shownConfig) {
      bands = zoneBands(config);
      const yScale = chart.options.scales?.y;
      if (yScale !== undefined) yScale.suggestedMax = scaleMaxN(config);
    }
    if (config === shownConfig && warnings === shownWarnings && open === null && shownOpen === null) return false;
    shownConfig = config;
    shownWarnings = warnings;
    shownOpen = open;
    const annotation = chart.options.plugins?.annotation;
    if (annotation !== undefined) annotation.annotations = [...bands, ...warningSpans(open === null ? warnings : [...warnings, open], endS)];
    return true;
  }

  /** Follows the dashboard's unit and the device's contact area; true if either changed. */
  function updateUnit(): boolean {
    const areaCm2 = areaOf(device.info);
    if (units.unit === shownUnit && areaCm2 === shownAreaCm2) return false;
    shownUnit = units.unit;
    shownAreaCm2 = areaCm2;
    const title = chart.options.scales?.y?.title;
    if (title !== undefined) title.text = axisTitle(shownUnit);
    return true;
  }

  let drawnEndS = Number.NaN;
  let frame = requestAnimationFrame(function draw() {
    frame = requestAnimationFrame(draw);
    const endS = device.viewEndMs(performance.now()) / 1000;
    const unitChanged = updateUnit();
    const marksChanged = updateMarks(endS) || unitChanged;
    // Redraw only when the trace has moved by a pixel or the marks changed: between
    // those, the picture would be the same.
    const pixelS = CHART_WINDOW_MS / 1000 / Math.max(chart.chartArea.width, 1);
    if (!marksChanged && Math.abs(endS - drawnEndS) < pixelS) return;
    const xScale = chart.options.scales?.x;
    const dataset = chart.data.datasets[0];
    if (xScale !== undefined && dataset !== undefined && Number.isFinite(endS)) {
      const startS = endS - CHART_WINDOW_MS / 1000;
      xScale.min = startS;
      xScale.max = endS;
      dataset.data = decimateMinMax(device.buffer.points, startS, endS, Math.ceil(chart.chartArea.width));
      drawnEndS = endS;
    }
    chart.update('none');
  });

  return () => {
    cancelAnimationFrame(frame);
    chart.destroy();
  };
}
