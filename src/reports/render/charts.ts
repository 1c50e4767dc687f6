// Charts for the reports, drawn by Apache ECharts on the server (server-side
// rendering to an SVG string: no DOM, no browser), with axes, labels, a
// legend and dates as category labels (made in the school's zone by the data
// builders, so no chart library does time-zone arithmetic). For the e-mail
// (Outlook shows no SVG) and the PDF the SVG is drawn to PNG by resvg with
// the report font, at twice the size so it prints sharp on A4.
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { crc32, deflateSync } from 'node:zlib';
import { Resvg } from '@resvg/resvg-js';
import type { Chart } from '../model.js';

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, SVGRenderer]);

export const CHART_WIDTH = 720;
export const CHART_HEIGHT = 300;
/** Period labels on an x axis at most (they are rotated 35° beyond 8). */
const MAX_PERIOD_LABELS = 14;
/** Colour-blind-friendly (Okabe–Ito), in the order series are given. */
const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#999999'];
const SEVERITY_COLOURS: Record<string, string> = { critical: '#B00020', high: '#D55E00', medium: '#E69F00', low: '#56B4E9' };

function option(c: Chart): echarts.EChartsCoreOption {
  const colours = c.series.map((s, i) => SEVERITY_COLOURS[s.name] ?? COLOURS[i % COLOURS.length]);
  const text = { fontFamily: 'DejaVu Sans, sans-serif', fontSize: 12, color: '#333' };
  if (c.type === 'share') {
    const values = c.series[0]?.values ?? [];
    const total = values.reduce((s, v) => s + v, 0);
    return {
      animation: false,
      color: COLOURS,
      textStyle: text,
      legend: { type: 'plain', orient: 'vertical', right: 10, top: 'middle', textStyle: text },
      series: [
        {
          type: 'pie',
          radius: ['40%', '70%'],
          center: ['32%', '50%'],
          label: { formatter: (p: { percent: number }) => `${Math.round(p.percent)}%`, ...text },
          data: c.categories
            .map((name, i) => ({ name: `${name} (${values[i].toLocaleString('en-GB')})`, value: values[i] }))
            .filter((d) => d.value > 0 && total > 0),
        },
      ],
    };
  }
  const many = c.categories.length > 8;
  // A label for every period up to 14, then every second, third, ... (a year of weeks: every fourth);
  // category names (not periods) are all labelled.
  const every = c.periods ? Math.ceil(c.categories.length / MAX_PERIOD_LABELS) : 1;
  return {
    animation: false,
    color: colours,
    textStyle: text,
    legend: { top: 0, itemGap: 22, textStyle: text, show: c.series.length > 1 },
    grid: { left: 64, right: 20, top: c.series.length > 1 ? 48 : 24, bottom: many ? 70 : 36 },
    xAxis: {
      type: 'category',
      data: c.categories,
      axisLabel: { ...text, interval: every - 1, rotate: many ? 35 : 0 },
      axisTick: { alignWithLabel: true },
    },
    yAxis: {
      type: 'value',
      name: c.unit,
      nameTextStyle: text,
      minInterval: 1,
      axisLabel: { ...text, formatter: (v: number) => v.toLocaleString('en-GB') },
    },
    series: c.series.map((s) => ({
      type: c.type === 'line' ? 'line' : 'bar',
      name: s.name,
      data: s.values,
      ...(c.type === 'stacked' ? { stack: 'all' } : {}),
      ...(c.type === 'line' ? { symbolSize: 6 } : { barMaxWidth: 48 }),
    })),
  };
}

/** The chart as an SVG document. */
export function chartSvg(c: Chart): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: CHART_WIDTH, height: CHART_HEIGHT });
  try {
    chart.setOption(option(c));
    return chart.renderToSVGString();
  } finally {
    // dispose() also stops zrender's animation timer, which would keep the thread alive.
    chart.dispose();
  }
}

/** The chart as PNG, twice its size, drawn with the report font (or the system's sans-serif when there is none). */
export function chartPng(c: Chart, fontFile: string | null): Buffer {
  const resvg = new Resvg(chartSvg(c), {
    fitTo: { mode: 'zoom', value: 2 },
    background: '#ffffff',
    font: fontFile
      ? { fontFiles: [fontFile], loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' }
      : { loadSystemFonts: true },
  });
  const image = resvg.render();
  return opaquePng(image.width, image.height, image.pixels);
}

/**
 * An RGB PNG (no alpha) of RGBA pixels on white. resvg writes RGBA, and
 * pdfkit splits an alpha channel out pixel by pixel in JavaScript (seconds per
 * report); an RGB PNG it embeds as it is. PNG: signature, IHDR, one IDAT of
 * filter-0 rows, IEND (RFC 2083).
 */
function opaquePng(width: number, height: number, rgba: Buffer): Buffer {
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0, o = 0, i = 0; y < height; y++) {
    raw[o++] = 0;
    for (let x = 0; x < width; x++, i += 4) {
      const a = rgba[i + 3] / 255;
      raw[o++] = Math.round(rgba[i] * a + 255 * (1 - a));
      raw[o++] = Math.round(rgba[i + 1] * a + 255 * (1 - a));
      raw[o++] = Math.round(rgba[i + 2] * a + 255 * (1 - a));
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 6 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A text version of a chart, for screen readers and the e-mail's alt text. */
export function chartSummary(c: Chart): string {
  if (c.series.length === 1)
    return `${c.title}: ${c.categories.map((k, i) => `${k} ${c.series[0].values[i].toLocaleString('en-GB')}`).join(', ')}.`;
  return `${c.title}: ${c.series.map((s) => `${s.name} ${s.values.reduce((a, b) => a + b, 0).toLocaleString('en-GB')}`).join(', ')} in all.`;
}
