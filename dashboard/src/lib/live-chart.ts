/**
 * The live force chart of one device: its last 30 s, on two stacked canvases. chart.js
 * draws what stays put (axes, grid, the zones shaded as on the gauge, the limit line):
 * the time axis reads in seconds before now ("-30 s" … "now"), so nothing on it moves
 * and chart.js redraws only when the preset, the unit or the size changes. Over it, a
 * plain canvas draws what moves, once per animation frame in which the trace has moved a
 * pixel: the trace thinned to the pixel columns (`decimate.ts`: a handful of points per
 * column whatever the sample rate), each over-pressure warning of the session where it
 * happened (those from before the page loaded too: the session snapshot brings them), and
 * when readings stop (`freshness.ts`) the chart keeps moving with the clock and shades
 * the gap rather than holding a line that looks live. Redrawing only the moving layer is
 * what keeps four 1 kHz devices smooth with software rendering (BENCHMARKS.md).
 *
 * A short chart (three or four panels on a tablet) keeps its plot readable: the time axis
 * drops its title ("seconds ago": the ticks still say "-30 s" … "now") rather than squeeze
 * the plot or overlap its ticks, and a narrow one ticks every 10 s instead of every 5 s.
 *
 * The moving layer is the canvas tests find (`data-testid="live-chart"`); it says what it
 * shows in `data-gap` (`none`, `link` or `device`), `data-warnings-marked` and
 * `data-plot-height` (the plot area's height in CSS px).
 */
import { Chart, LinearScale, LineController, LineElement, PointElement } from 'chart.js';
import annotationPlugin, { type AnnotationOptions } from 'chartjs-plugin-annotation';
import type { EngineConfig, WarningResult } from '../../../server/engine/results.ts';
import { cssColour, stillChartOptions, translucent } from './chart-style.ts';
import { decimateMinMax } from './decimate.ts';
import type { ChartPoint } from './reading-buffer.ts';
import { freshnessOf, type Freshness } from './freshness.ts';
import { CHART_WINDOW_MS, type DeviceView } from './live.svelte.ts';
import { areaOf, axisTitle, tickLabel, unitTicks, units } from './units.svelte.ts';
import { scaleMaxN, ZONE_COLOURS, zoneRanges } from './zones.ts';

Chart.register(LineController, LineElement, PointElement, LinearScale, annotationPlugin);

const TICK_STEP_S = 5;
/** Under this width the time axis ticks every 10 s: seven labels would touch. */
const FINE_TICKS_MIN_WIDTH_PX = 320;
/** Under this height the time axis has no title: it would take ~17 px of a plot already short. */
const TIME_TITLE_MIN_HEIGHT_PX = 140;
const WINDOW_S = CHART_WINDOW_MS / 1000;

/** The time axis's ticks for a scale `widthPx` wide: every 5 s, or 10 s when narrow. */
function timeTicks(widthPx: number): { value: number }[] {
  const stepS = widthPx < FINE_TICKS_MIN_WIDTH_PX ? TICK_STEP_S * 2 : TICK_STEP_S;
  return Array.from({ length: WINDOW_S / stepS + 1 }, (_, index) => ({ value: -WINDOW_S + index * stepS }));
}

/** A tick `secondsAgo` before now: `-30 s` … `now`. */
export function secondsAgoLabel(secondsAgo: number): string {
  const whole = Math.round(secondsAgo);
  return whole <= 0 ? 'now' : `-${whole} s`;
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

/** Sets a `data-` attribute only when it changes (a DOM write per frame would cost style work). */
function setData(element: HTMLElement, key: string, value: string): void {
  if (element.dataset[key] !== value) element.dataset[key] = value;
}

/** The still layer: axes, grid, zones; x in seconds relative to now (-30 … 0). */
function createBackground(canvas: HTMLCanvasElement, textColour: string, gridColour: string, shown: { unit: typeof units.unit; areaCm2: number }): Chart<'line'> {
  const timeTitled = (heightPx: number): boolean => heightPx >= TIME_TITLE_MIN_HEIGHT_PX;
  return new Chart<'line'>(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      ...stillChartOptions(),
      // Before the layout that follows a resize: the time title only where the plot can spare it.
      onResize: (chart, size) => {
        const title = (chart as Chart<'line'>).options.scales?.x?.title;
        if (title !== undefined) title.display = timeTitled(size.height);
      },
      parsing: false,
      plugins: { legend: { display: false }, tooltip: { enabled: false }, annotation: { annotations: [] } },
      scales: {
        x: {
          type: 'linear',
          min: -WINDOW_S,
          max: 0,
          title: { display: timeTitled(canvas.parentElement?.clientHeight ?? 0), text: 'seconds ago', color: textColour },
          afterBuildTicks: (scale) => {
            scale.ticks = timeTicks(scale.width);
          },
          ticks: { callback: (value) => secondsAgoLabel(-Number(value)), color: textColour, maxRotation: 0 },
          // Short tick marks: the plot keeps the height (chart.js draws 8 px).
          grid: { color: gridColour, tickLength: 4 },
        },
        y: {
          type: 'linear',
          min: 0,
          title: { display: true, text: axisTitle(shown.unit), color: textColour },
          // The data stay in newtons; the ticks fall on round values of the chosen unit.
          afterBuildTicks: (scale) => {
            scale.ticks = unitTicks(scale.min, scale.max, shown.unit, shown.areaCm2).map((tick) => ({ value: tick.valueN }));
          },
          ticks: { color: textColour, callback: (value) => tickLabel(Number(value), shown.unit, shown.areaCm2) },
          grid: { color: gridColour },
        },
      },
    },
  });
}

const TRACE_WIDTH_PX = 2;

/**
 * Adds the trace to `context`'s path and returns its highest force at or after `fromS`.
 * Where points are dense (several per pixel column, e.g. 1 kHz), each column becomes one
 * bar from its lowest to its highest point, joined to the column before: a filled rect is
 * far cheaper to rasterise in software than a stroked polyline with thousands of joins,
 * and looks the same at that density. Where points are sparse, consecutive points are
 * joined by line segments (moveTo/lineTo, stroked). A NaN point breaks the trace.
 */
function traceTrace(bars: Path2D, segments: Path2D, points: readonly ChartPoint[], xOf: (seconds: number) => number, yOf: (forceN: number) => number, fromS: number): number {
  const half = TRACE_WIDTH_PX / 2;
  let maxN = 0;
  let column = Number.NaN;
  let low = 0;
  let high = 0;
  let previous: { x: number; y: number } | null = null;
  const flush = (): void => {
    if (!Number.isNaN(column)) bars.rect(column - half, low - half, TRACE_WIDTH_PX, high - low + TRACE_WIDTH_PX);
  };
  for (const point of points) {
    if (Number.isNaN(point.y)) {
      flush();
      column = Number.NaN;
      previous = null;
      continue;
    }
    if (point.y > maxN && point.x >= fromS) maxN = point.y;
    const x = xOf(point.x);
    const y = yOf(point.y);
    const pointColumn = Math.floor(x);
    if (pointColumn !== column) {
      flush();
      const sparse = previous !== null && pointColumn > column + 1;
      if (previous !== null && sparse) {
        // Sparse: a segment from the point before; the bar starts at this point.
        segments.moveTo(previous.x, previous.y);
        segments.lineTo(x, y);
      }
      column = pointColumn;
      low = high = previous === null || sparse ? y : previous.y;
    }
    if (y < low) low = y;
    if (y > high) high = y;
    previous = { x, y };
  }
  flush();
  return maxN;
}

/** Creates the chart in `canvas`'s box and keeps it moving; returns the function that stops it. `serverConnected`: the page's link now. */
export function startLiveChart(canvas: HTMLCanvasElement, device: DeviceView, serverConnected: () => boolean = () => true): () => void {
  const lineColour = cssColour(canvas, '--chart-line', '#0072B2');
  const gridColour = cssColour(canvas, '--chart-grid', 'rgba(128,128,128,0.25)');
  const textColour = cssColour(canvas, '--chart-text', '#666');
  const background = document.createElement('canvas');
  background.setAttribute('aria-hidden', 'true');
  canvas.before(background);
  const shown = { unit: units.unit, areaCm2: areaOf(device.info), config: null as EngineConfig | null, topN: 0 };
  const chart = createBackground(background, textColour, gridColour, shown);
  const context = canvas.getContext('2d');

  /** Follows the preset, the unit, the contact area and a force above the scale; true if the still layer must be drawn again. */
  function updateBackground(windowMaxN: number): boolean {
    const config = device.info.engineConfig;
    const areaCm2 = areaOf(device.info);
    const topN = Math.max(scaleMaxN(config), Math.ceil(windowMaxN / 5) * 5);
    if (config === shown.config && units.unit === shown.unit && areaCm2 === shown.areaCm2 && topN === shown.topN) return false;
    Object.assign(shown, { unit: units.unit, areaCm2, config, topN });
    const yScale = chart.options.scales?.y;
    if (yScale !== undefined) {
      yScale.max = topN;
      if (yScale.title !== undefined) yScale.title.text = axisTitle(shown.unit);
    }
    const annotation = chart.options.plugins?.annotation;
    if (annotation !== undefined) annotation.annotations = zoneBands(config);
    chart.update('none');
    return true;
  }

  /** Where the view ended at the last current reading, by the page's clock: the chart runs on from there while none come. */
  let anchor: { nowMs: number; endS: number } | null = null;
  function viewEndS(nowMs: number, freshness: Freshness): number {
    if (!freshness.current && anchor !== null) return anchor.endS + (nowMs - anchor.nowMs) / 1000;
    const endS = device.viewEndMs(nowMs) / 1000;
    if (freshness.current && Number.isFinite(endS)) anchor = { nowMs, endS };
    return endS;
  }

  /** Draws the moving layer for a view ending at `endS` (device seconds). */
  function drawMoving(endS: number, freshness: Freshness): number {
    if (context === null) return 0;
    const { left, right, top, bottom } = chart.chartArea;
    const width = right - left;
    const startS = endS - WINDOW_S;
    const xOf = (seconds: number): number => left + ((seconds - startS) / WINDOW_S) * width;
    const yOf = (forceN: number): number => bottom - (forceN / shown.topN) * (bottom - top);
    const ratio = chart.currentDevicePixelRatio;
    if (canvas.width !== background.width || canvas.height !== background.height) {
      canvas.width = background.width;
      canvas.height = background.height;
    }
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.save();
    context.beginPath();
    context.rect(left, top, width, bottom - top);
    context.clip();

    const { warnings, warning: open } = device.session;
    let marked = 0;
    for (const warning of open === null ? warnings : [...warnings, open]) {
      const toS = warning.endMs === null ? endS : warning.endMs / 1000;
      if (toS < startS) continue;
      marked++;
      const [fromX, toX] = [xOf(warning.startMs / 1000), xOf(toS)];
      context.fillStyle = translucent(ZONE_COLOURS.over, 0.22);
      context.fillRect(fromX, top, toX - fromX, bottom - top);
      context.strokeStyle = ZONE_COLOURS.over;
      context.lineWidth = 1;
      context.strokeRect(fromX, top, toX - fromX, bottom - top);
      context.fillStyle = ZONE_COLOURS.over;
      context.font = 'bold 11px system-ui, sans-serif';
      context.fillText('over', fromX + 3, top + 12);
    }
    const lastS = device.buffer.latestMs / 1000;
    if (!freshness.current && lastS < endS) {
      const fromX = xOf(lastS);
      context.fillStyle = 'rgba(128, 128, 128, 0.18)';
      context.fillRect(fromX, top, right - fromX, bottom - top);
      context.fillStyle = textColour;
      context.font = 'bold 11px system-ui, sans-serif';
      context.textAlign = 'right';
      context.fillText(freshness.cause === 'link' ? 'no link' : 'no readings', right - 4, top + 12);
      context.textAlign = 'left';
    }

    const [bars, segments] = [new Path2D(), new Path2D()];
    const maxN = traceTrace(bars, segments, decimateMinMax(device.buffer.points, startS, endS, Math.ceil(width)), xOf, yOf, startS);
    context.fillStyle = lineColour;
    context.fill(bars);
    context.strokeStyle = lineColour;
    context.lineWidth = TRACE_WIDTH_PX;
    context.lineJoin = 'round';
    context.stroke(segments);
    context.restore();
    setData(canvas, 'warningsMarked', String(marked));
    setData(canvas, 'plotHeight', String(Math.round(bottom - top)));
    setData(canvas, 'gap', freshness.current ? 'none' : freshness.cause);
    return maxN;
  }

  let drawn = { endS: Number.NaN, warnings: null as readonly WarningResult[] | null, open: null as WarningResult | null, current: true, width: 0, maxN: 0 };
  updateBackground(0);
  let frame = requestAnimationFrame(function draw() {
    frame = requestAnimationFrame(draw);
    const nowMs = performance.now();
    const freshness = freshnessOf(device, nowMs, serverConnected());
    const endS = viewEndS(nowMs, freshness);
    if (!Number.isFinite(endS)) return;
    const backgroundChanged = updateBackground(drawn.maxN);
    const width = chart.chartArea.width;
    const { warnings, warning: open } = device.session;
    // Between a pixel's worth of scrolling and any change of marks, the picture would be the same.
    const same = Math.abs(endS - drawn.endS) < WINDOW_S / Math.max(width, 1) && warnings === drawn.warnings && open === null && drawn.open === null && freshness.current === drawn.current && width === drawn.width;
    if (same && !backgroundChanged) return;
    const maxN = drawMoving(endS, freshness);
    drawn = { endS, warnings, open, current: freshness.current, width, maxN };
  });

  return () => {
    cancelAnimationFrame(frame);
    chart.destroy();
    background.remove();
  };
}
