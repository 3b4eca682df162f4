import type { FilterDetail, Matrix } from '../../../views/model-view.js';
import type { Backend } from '../backend.js';
import { formatAxes, formatNumber, formatShape } from '../../../model/format.js';
import { clear, download, h, setStatus } from '../dom.js';
import { textColourOn, valueColour } from './draw.js';

const STAT_ROWS: [keyof FilterDetail['stats'], string][] = [
  ['min', 'min'],
  ['max', 'max'],
  ['mean', 'mean'],
  ['std', 'std'],
  ['absMax', 'max |w|'],
  ['norm', 'L2 norm'],
  ['zeros', 'zeros'],
  ['nan', 'NaN'],
  ['inf', 'Inf'],
];

function thumbnail(m: Matrix, scale: number, colormap: string, px: number): HTMLCanvasElement {
  const canvas = h('canvas', { width: m.cols * px, height: m.rows * px });
  const ctx = canvas.getContext('2d')!;
  m.values.forEach((v, i) => {
    ctx.fillStyle = valueColour(v, scale, colormap);
    ctx.fillRect((i % m.cols) * px, Math.floor(i / m.cols) * px, px, px);
  });
  return canvas;
}

/** The numeric matrix: every cell coloured on the filter's scale, its exact value on hover. */
function matrixTable(d: FilterDetail, colormap: string, readout: HTMLElement): HTMLTableElement {
  const m = d.matrix;
  const table = h('table', { class: 'matrix', 'data-testid': 'filter-matrix' });
  for (let r = 0; r < m.rows; r++) {
    const tr = h('tr');
    for (let c = 0; c < m.cols; c++) {
      const v = m.values[r * m.cols + c]!;
      const exact = v === null ? 'NaN or Inf' : String(v);
      const td = h('td', {
        title: exact,
        'data-value': exact,
        style: `background:${valueColour(v, d.scale, colormap)};color:${textColourOn(v, d.scale, colormap)}`,
        onmouseenter: () => {
          readout.textContent = `[${r}, ${c}] = ${exact}`;
        },
      });
      td.textContent = v === null ? '×' : formatNumber(v, 2);
      tr.append(td);
    }
    table.append(tr);
  }
  return table;
}

/** Opens one filter: its input-channel slices, the chosen slice's values and statistics, the indexing expression and a .npy download. */
export async function showFilter(
  root: HTMLElement,
  backend: Backend,
  model: number,
  layer: string,
  filter: number,
  channel: number,
  colormap: string,
): Promise<void> {
  const d = await backend.filter(model, layer, filter, channel);
  const readout = h('div', { class: 'readout', 'data-testid': 'value-readout' }, 'hover a cell for its value');
  const channels = h('div', { class: 'channels' });
  const px = Math.max(2, Math.min(16, Math.floor(48 / Math.max(d.matrix.rows, d.matrix.cols, 1))));
  d.channels.forEach((m, c) => {
    const thumb = thumbnail(m, d.scale, colormap, px);
    const fig = h(
      'figure',
      {
        class: c === d.channel ? 'channel selected' : 'channel',
        title: `input channel ${c}`,
        onclick: () => void showFilter(root, backend, model, layer, filter, c, colormap).catch((e: Error) => setStatus(e.message, 'error')),
      },
      thumb,
      h('figcaption', {}, d.channelCount > 1 ? `in ${c}` : ''),
    );
    channels.append(fig);
  });
  const stats = h('table', { class: 'stats' });
  for (const [key, label] of STAT_ROWS) stats.append(h('tr', {}, h('th', {}, label), h('td', {}, formatNumber(d.stats[key]))));
  const npy = h('button', {
    type: 'button',
    'data-testid': 'download-npy',
    onclick: async () => {
      try {
        const file = await backend.sliceNpy(model, layer, filter, d.perChannel ? d.channel : undefined);
        download(file.name, file.bytes);
      } catch (e) {
        setStatus((e as Error).message, 'error');
      }
    },
  }, 'download this slice (.npy)');
  clear(
    root,
    h('h3', {}, d.what),
    h('p', {}, 'In your framework: ', h('code', { 'data-testid': 'expression' }, d.expression), ` — shape ${formatShape(d.shape)} ${formatAxes(d.axes)}`),
    d.channelCount > 1 ? h('p', { class: 'hint' }, `${d.channelCount} input channels; click one to see its values:`) : null,
    channels,
    h('div', { class: 'detail-row' }, h('div', {}, matrixTable(d, colormap, readout), readout), stats),
    npy,
  );
}
