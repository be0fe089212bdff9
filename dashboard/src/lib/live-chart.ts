/**
 * The live force chart: chart.js drawing a device's last 30 s, redrawn once per animation
 * frame (not per message), so it scrolls smoothly whatever the sample rate. At 1 kHz
 * the window holds 30 000 points; chart.js's min-max decimation thins them to what the
 * canvas can show, which needs `parsing: false`, numeric `{x, y}` points and a linear x
 * axis (see stack.md).
 */
import { Chart, Decimation, LinearScale, LineController, LineElement, PointElement } from 'chart.js';
import { CHART_WINDOW_MS, type DeviceView } from './live.svelte.ts';

Chart.register(LineController, LineElement, PointElement, LinearScale, Decimation);

const TICK_STEP_S = 5;

/** Tick labels as device clock time, m:ss, so labels move with the data and never jump. */
function clockLabel(seconds: number): string {
  if (seconds < 0) return '';
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

function cssColour(element: HTMLElement, property: string, fallback: string): string {
  return getComputedStyle(element).getPropertyValue(property).trim() || fallback;
}

/** Creates the chart on `canvas` and keeps it moving; returns the function that stops it. */
export function startLiveChart(canvas: HTMLCanvasElement, device: DeviceView): () => void {
  const lineColour = cssColour(canvas, '--chart-line', '#0072B2');
  const gridColour = cssColour(canvas, '--chart-grid', 'rgba(128,128,128,0.25)');
  const textColour = cssColour(canvas, '--chart-text', '#666');
  const chart = new Chart(canvas, {
    type: 'line',
    data: { datasets: [{ data: device.buffer.points, borderColor: lineColour, borderWidth: 2, pointRadius: 0, indexAxis: 'x' }] },
    options: {
      animation: false,
      parsing: false,
      normalized: true,
      responsive: true,
      maintainAspectRatio: false,
      events: [],
      plugins: { decimation: { enabled: true, algorithm: 'min-max' }, legend: { display: false }, tooltip: { enabled: false } },
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
          suggestedMax: 20,
          title: { display: true, text: 'force (N)', color: textColour },
          ticks: { color: textColour },
          grid: { color: gridColour },
        },
      },
    },
  });

  let frame = requestAnimationFrame(function draw() {
    const endS = device.viewEndMs(performance.now()) / 1000;
    const xScale = chart.options.scales?.x;
    if (xScale !== undefined && Number.isFinite(endS)) {
      xScale.min = endS - CHART_WINDOW_MS / 1000;
      xScale.max = endS;
    }
    chart.update('none');
    frame = requestAnimationFrame(draw);
  });

  return () => {
    cancelAnimationFrame(frame);
    chart.destroy();
  };
}
