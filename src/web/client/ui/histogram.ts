import type { WeightHistogram } from '../../../views/model-view.js';
import { formatNumber, formatShape } from '../../../model/format.js';
import { h } from '../dom.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** One bar chart per weight of the layer: value bins on x, counts on y, zero marked. */
export function histogramView(histograms: readonly WeightHistogram[]): HTMLElement {
  const root = h('div', { class: 'histograms', 'data-testid': 'histograms' });
  for (const hist of histograms) {
    const width = 300;
    const height = 90;
    const chart = svg('svg', {
      width,
      height: height + 14,
      viewBox: `0 0 ${width} ${height + 14}`,
      role: 'img',
      'aria-label': `histogram of ${hist.weight}: ${hist.counts.length} bins from ${formatNumber(hist.min)} to ${formatNumber(hist.max)}`,
    });
    const peak = Math.max(1, ...hist.counts);
    const bw = width / Math.max(1, hist.counts.length);
    hist.counts.forEach((c, i) => {
      const bh = (c / peak) * height;
      const lo = hist.min + ((hist.max - hist.min) * i) / hist.counts.length;
      const bar = svg('rect', { x: i * bw, y: height - bh, width: Math.max(1, bw - 1), height: bh, class: 'bar' });
      const title = svg('title', {});
      title.textContent = `${c} values from ${formatNumber(lo)}`;
      bar.append(title);
      chart.append(bar);
    });
    if (hist.min < 0 && hist.max > 0) {
      const x = ((0 - hist.min) / (hist.max - hist.min)) * width;
      chart.append(svg('line', { x1: x, x2: x, y1: 0, y2: height, class: 'zero' }));
    }
    const lo = svg('text', { x: 0, y: height + 12, class: 'axis' });
    lo.textContent = formatNumber(hist.min);
    const hi = svg('text', { x: width, y: height + 12, 'text-anchor': 'end', class: 'axis' });
    hi.textContent = formatNumber(hist.max);
    chart.append(lo, hi);
    root.append(
      h('figure', {}, chart, h('figcaption', {}, `${hist.weight} ${formatShape(hist.shape)}: mean ${formatNumber(hist.stats.mean)}, std ${formatNumber(hist.stats.std)}`)),
    );
  }
  return root;
}
