// Progressive enhancement for the console: draws each [data-chart] with uPlot (the server already rendered the
// figures as a table), and again after htmx swaps content in. No inline script anywhere: the CSP stays strict.
(() => {
  const COLORS = ['#2f5fd0', '#c2410c', '#0f766e', '#7c3aed', '#b91c1c', '#4d7c0f', '#a21caf', '#475569'];
  const DAY = 86400;
  const numbers = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const dayLabel = (seconds) => {
    const d = new Date(seconds * 1000);
    return `${months[d.getUTCMonth()]} ${d.getUTCDate()}`;
  };
  const charts = new Map();

  function draw(el) {
    if (charts.has(el) || typeof uPlot === 'undefined') return;
    const data = JSON.parse(el.dataset.chart);
    const xs = data.days.map((d) => Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10))) / 1000);
    const bars = data.series.length === 1;
    const top = Math.max(1, ...data.series.flatMap((s) => s.values));
    const options = {
      width: Math.max(280, el.clientWidth),
      height: 220,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: {
        x: { time: true, range: (_u, min, max) => [min - DAY / 2, max + DAY / 2] },
        // Whole numbers only: the axis starts at 0 and reaches at least 1, so an empty range reads "0, 1".
        y: { range: () => [0, top] },
      },
      axes: [
        {
          incrs: [DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY],
          space: 48,
          values: (_u, splits) => {
            const labels = splits.map(dayLabel);
            el.dataset.xTicks = labels.join('|');
            return labels;
          },
        },
        {
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 2e7, 5e7, 1e8],
          size: 64,
          values: (_u, splits) => {
            const labels = splits.map((v) => numbers.format(v));
            el.dataset.yTicks = labels.join('|');
            return labels;
          },
        },
      ],
      series: [
        {},
        ...data.series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          fill: bars ? COLORS[i % COLORS.length] : undefined,
          width: bars ? 0 : 2,
          paths: bars ? uPlot.paths.bars({ size: [0.7, 48] }) : undefined,
          points: { show: !bars },
        })),
      ],
    };
    const chart = new uPlot(options, [xs, ...data.series.map((s) => s.values)], el);
    charts.set(el, chart);
    el.dataset.rendered = 'true';
    const figures = el.closest('figure')?.querySelector('details.chart-data');
    if (figures) figures.open = false;
  }

  function drawAll(root) {
    for (const el of root.querySelectorAll('.chart-plot[data-chart]')) draw(el);
  }

  let resizing;
  window.addEventListener('resize', () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      for (const [el, chart] of charts) {
        if (!el.isConnected) charts.delete(el);
        else chart.setSize({ width: Math.max(280, el.clientWidth), height: 220 });
      }
    }, 150);
  });
  document.addEventListener('DOMContentLoaded', () => drawAll(document));
  document.addEventListener('htmx:afterSettle', (event) => drawAll(event.target));
})();
