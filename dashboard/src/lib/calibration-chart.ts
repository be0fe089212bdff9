/**
 * The calibration page's charts: the fitted curve through the captured points (raw counts
 * across, force up, in the dashboard's unit), and the residual of each point (what the
 * curve says minus the known load) with the stated error bar as a band, so a point that
 * does not fit, or a curve that bends the wrong way, shows at a glance. chart.js gets
 * plain arrays; the charts are made once and fed through `update`.
 */
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, ScatterController, Tooltip } from 'chart.js';
import { errorAtN } from '../../../calibration/fit.ts';
import type { FitPreview } from '../../../server/contract/calibration-events.ts';
import { forceFromRaw, SENSOR_RAW_RANGE } from '../../../calibration/model.ts';
import { toDisplay, type ForceUnit } from '../../../calibration/units.ts';
import { cssColour } from './chart-style.ts';
import { axisTitle } from './units.svelte.ts';

Chart.register(ScatterController, LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

const CURVE_STEPS = 160;

export interface CalibrationChartInput {
  readonly fit: FitPreview | null;
  /** Points captured but not fitted yet (fewer than 2, or a fit refused). */
  readonly points: readonly { raw: number; forceN: number }[];
  readonly tareRaw: number | null;
  readonly unit: ForceUnit;
  readonly areaCm2: number;
}

interface XY {
  x: number;
  y: number;
}

/** The curve from the tare to a little past the heaviest point, in the display unit. */
export function curvePoints(fit: FitPreview, unit: ForceUnit, areaCm2: number): XY[] {
  const raws = [fit.tareRaw, ...fit.points.map((point) => point.raw)];
  const low = Math.min(...raws);
  const high = Math.min(Math.max(...raws) + 0.1 * (Math.max(...raws) - low), SENSOR_RAW_RANGE[fit.sensor].max);
  return Array.from({ length: CURVE_STEPS + 1 }, (_, step) => {
    const raw = low + ((high - low) * step) / CURVE_STEPS;
    return { x: raw, y: toDisplay(forceFromRaw(fit.sensor, fit.fit, fit.tareRaw, raw), unit, areaCm2) };
  });
}

/** Creates both charts; returns `update` (feed new input) and `destroy`. */
export function startCalibrationCharts(curveCanvas: HTMLCanvasElement, residualCanvas: HTMLCanvasElement): { update(input: CalibrationChartInput): void; destroy(): void } {
  const lineColour = cssColour(curveCanvas, '--chart-line', '#0072B2');
  const pointColour = cssColour(curveCanvas, '--bad', '#D55E00');
  const gridColour = cssColour(curveCanvas, '--chart-grid', 'rgba(128,128,128,0.25)');
  const textColour = cssColour(curveCanvas, '--chart-text', '#666');
  const axis = (title: string, extra: object = {}): object => ({ type: 'linear', title: { display: true, text: title, color: textColour }, ticks: { color: textColour }, grid: { color: gridColour }, ...extra });

  const curve = new Chart<'scatter', XY[]>(curveCanvas, {
    type: 'scatter',
    data: {
      datasets: [
        { label: 'fitted curve', data: [], showLine: true, borderColor: lineColour, borderWidth: 2, pointRadius: 0 },
        { label: 'captured points', data: [], borderColor: pointColour, backgroundColor: pointColour, pointRadius: 5 },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { labels: { color: textColour } } },
      scales: { x: axis('raw counts'), y: axis('force (N)', { min: 0 }) },
    },
  });
  const residuals = new Chart<'scatter', XY[]>(residualCanvas, {
    type: 'scatter',
    data: {
      datasets: [
        { label: 'error bar (±)', data: [], showLine: true, borderColor: 'rgba(0,158,115,0.6)', backgroundColor: 'rgba(0,158,115,0.12)', borderWidth: 1, pointRadius: 0, fill: false },
        { label: '', data: [], showLine: true, borderColor: 'rgba(0,158,115,0.6)', borderWidth: 1, pointRadius: 0 },
        { label: 'residual (fit minus load)', data: [], borderColor: pointColour, backgroundColor: pointColour, pointRadius: 5 },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { labels: { color: textColour, filter: (item) => item.text !== '' } } },
      scales: { x: axis('raw counts'), y: axis('residual (N)') },
    },
  });

  return {
    update(input) {
      const { fit, unit, areaCm2 } = input;
      const show = (forceN: number): number => toDisplay(forceN, unit, areaCm2);
      const [curveLine, curveDots] = curve.data.datasets;
      if (curveLine !== undefined) curveLine.data = fit === null ? [] : curvePoints(fit, unit, areaCm2);
      if (curveDots !== undefined) curveDots.data = (fit?.points ?? input.points).map((point) => ({ x: point.raw, y: show(point.forceN) }));
      const yCurve = curve.options.scales?.['y'];
      if (yCurve?.title !== undefined) yCurve.title.text = axisTitle(unit);
      curve.update('none');

      const [upper, lower, dots] = residuals.data.datasets;
      const sorted = fit?.points ?? [];
      const band = sorted.map((point) => ({ raw: point.raw, barN: errorAtN(fit?.stats.error ?? null, point.forceN) }));
      if (upper !== undefined) upper.data = band.flatMap(({ raw, barN }) => (barN === null ? [] : [{ x: raw, y: show(barN) }]));
      if (lower !== undefined) lower.data = band.flatMap(({ raw, barN }) => (barN === null ? [] : [{ x: raw, y: -show(barN) }]));
      if (dots !== undefined) dots.data = sorted.map((point) => ({ x: point.raw, y: show(point.residualN) }));
      const yResidual = residuals.options.scales?.['y'];
      if (yResidual !== undefined) {
        if (yResidual.title !== undefined) yResidual.title.text = `residual (${unit})`;
        // At least +/-0.1 N in view, so residuals of 1e-15 (two points, fitted exactly) read as the zero they are.
        const spanN = Math.max(0.1, ...band.map(({ barN }) => barN ?? 0), ...sorted.map((point) => Math.abs(point.residualN)));
        yResidual.min = -show(spanN) * 1.1;
        yResidual.max = show(spanN) * 1.1;
      }
      residuals.update('none');
    },
    destroy() {
      curve.destroy();
      residuals.destroy();
    },
  };
}
