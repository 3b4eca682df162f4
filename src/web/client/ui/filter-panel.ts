import type { FilterDetail, Matrix } from '../../../views/model-view.js';
import type { Backend } from '../backend.js';
import { formatNumber, formatScale } from '../../../model/format.js';
import { clear, download, h, setStatus } from '../dom.js';
import { viewerError } from '../wording.js';
import { textColourOn, valueColour, type DrawnGrid, type GridControls } from './draw.js';

/** Most channel thumbnails shown at once (512 input channels are 8 windows). */
const CHANNEL_WINDOW = 64;

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

/**
 * How the open filter's values are coloured: the grid's colormap, and the grid's scale (the layer's
 * shared scale, or the filter's own with per-filter scaling), so a cell and its tile have one colour.
 * The grid's RGB composite and channel mean draw other quantities than one channel's raw values; the
 * panel then colours the raw values with the colormap on the layer's (or filter's) scale, and says so.
 */
export interface ColourDecision {
  colormap: string;
  /** The symmetric scale of filter f, or undefined for the filter's own largest |w|. */
  scale: number | undefined;
  text: string;
}

export function colourDecision(drawn: DrawnGrid, controls: GridControls, filter: number): ColourDecision {
  const shared = controls.normalize === 'shared';
  const raw = drawn.mode === 'rgb' || drawn.mode === 'mean';
  const scale = shared ? (drawn.mode === 'mean' ? drawn.layerAbsMax : (drawn.scale ?? drawn.layerAbsMax)) : raw ? undefined : drawn.scaleOf(filter) || undefined;
  const where = shared ? `the layer's shared scale ${formatScale(scale!)}` : `this filter's own scale${scale === undefined ? '' : ` ${formatScale(scale)}`} (per filter)`;
  const grid =
    drawn.mode === 'rgb'
      ? ' (the grid shows these three channels as one RGB composite)'
      : drawn.mode === 'mean'
        ? ` (the grid shows the channels' mean on ${formatScale(drawn.scale ?? 0)})`
        : ', as in the grid';
  return { colormap: controls.colormap, scale, text: `colours: ${controls.colormap} on ${where}${grid}` };
}

function thumbnail(m: Matrix, scale: number, colormap: string, px: number): HTMLCanvasElement {
  const canvas = h('canvas', { width: m.cols * px, height: m.rows * px });
  const ctx = canvas.getContext('2d')!;
  m.values.forEach((v, i) => {
    ctx.fillStyle = valueColour(v, scale, colormap);
    ctx.fillRect((i % m.cols) * px, Math.floor(i / m.cols) * px, px, px);
  });
  return canvas;
}

/** A vector slice (a Dense unit's weights, 25088 for VGG16's fc1) is laid out in rows of this many values. */
const VECTOR_COLS = 16;
/** Most table rows drawn at once; longer slices are paged, every value reachable. */
const PAGE_ROWS = 64;

/** How a slice is laid out: a matrix as it is; a long vector wrapped into rows, each cell named by its index. */
interface Layout {
  rows: number;
  cols: number;
  at(r: number, c: number): number | undefined;
  name(r: number, c: number): string;
}

function layoutOf(m: Matrix): Layout {
  if (m.rows === 1 && m.cols > VECTOR_COLS) {
    return {
      rows: Math.ceil(m.cols / VECTOR_COLS),
      cols: VECTOR_COLS,
      at: (r, c) => (r * VECTOR_COLS + c < m.cols ? r * VECTOR_COLS + c : undefined),
      name: (r, c) => `[${r * VECTOR_COLS + c}]`,
    };
  }
  return { rows: m.rows, cols: m.cols, at: (r, c) => r * m.cols + c, name: (r, c) => `[${r}, ${c}]` };
}

/** The layout as a matrix (for the thumbnail), the missing end of the last row left empty. */
function laidOut(m: Matrix): Matrix {
  const l = layoutOf(m);
  if (l.rows === m.rows) return m;
  return { rows: l.rows, cols: l.cols, values: Array.from({ length: l.rows * l.cols }, (_, i) => m.values[i] ?? null) };
}

/** One page of the numeric matrix: every cell coloured as decided, its exact value on hover or focus. */
function matrixTable(d: FilterDetail, colours: ColourDecision, scale: number, readout: HTMLElement, page: number): HTMLTableElement {
  const m = d.matrix;
  const l = layoutOf(m);
  const table = h('table', { class: 'matrix', 'data-testid': 'filter-matrix', 'aria-label': `values of ${d.what}` });
  for (let r = page * PAGE_ROWS; r < Math.min(l.rows, (page + 1) * PAGE_ROWS); r++) {
    const tr = h('tr');
    for (let c = 0; c < l.cols; c++) {
      const i = l.at(r, c);
      if (i === undefined) break;
      const v = m.values[i]!;
      const exact = v === null ? 'NaN or Inf' : String(v);
      const show = (): void => {
        readout.textContent = `${l.name(r, c)} = ${exact}`;
      };
      const td = h('td', {
        title: exact,
        'data-value': exact,
        style: `background:${valueColour(v, scale, colours.colormap)};color:${textColourOn(v, scale, colours.colormap)}`,
        onmouseenter: show,
      });
      td.textContent = v === null ? '×' : formatNumber(v, 2);
      tr.append(td);
    }
    table.append(tr);
  }
  return table;
}

/** The values table with its pages (previous, next, any page), for slices longer than one page. */
function pagedMatrix(d: FilterDetail, colours: ColourDecision, scale: number, readout: HTMLElement): HTMLElement {
  const l = layoutOf(d.matrix);
  const pages = Math.ceil(l.rows / PAGE_ROWS);
  const box = h('div', { class: 'matrix-pages' });
  const perPage = PAGE_ROWS * l.cols;
  const total = d.matrix.rows * d.matrix.cols;
  const show = (page: number): void => {
    const table = matrixTable(d, colours, scale, readout, page);
    table.tabIndex = 0;
    table.addEventListener('focus', () => {
      readout.textContent = `max |w| of this slice = ${formatNumber(d.stats.absMax)}`;
    });
    if (pages <= 1) {
      clear(box, table);
      return;
    }
    const go = (p: number) => () => show(Math.max(0, Math.min(pages - 1, p)));
    const from = page * perPage;
    const to = Math.min(total, from + perPage) - 1;
    clear(
      box,
      h(
        'p',
        { class: 'controls', 'data-testid': 'matrix-pages' },
        h('button', { type: 'button', onclick: go(page - 1), disabled: page === 0 }, 'previous values'),
        h(
          'label',
          {},
          ' values ',
          h(
            'select',
            { 'data-testid': 'matrix-page', onchange: (e: Event) => show(Number((e.target as HTMLSelectElement).value)) },
            ...Array.from({ length: pages }, (_, p) => h('option', { value: p, selected: p === page }, `${p * perPage}–${Math.min(total, (p + 1) * perPage) - 1}`)),
          ),
          ` of ${total} `,
        ),
        h('button', { type: 'button', onclick: go(page + 1), disabled: page === pages - 1 }, 'next values'),
        h('span', { class: 'hint' }, ` showing ${from}–${to}`),
      ),
      table,
    );
  };
  show(0);
  return box;
}

/** Opens one filter: its input-channel slices, the chosen slice's values and statistics, the indexing expression and a .npy download. */
export async function showFilter(
  root: HTMLElement,
  backend: Backend,
  model: number,
  layer: string,
  filter: number,
  channel: number,
  colours: ColourDecision,
  onChannel: (c: number) => void,
): Promise<void> {
  const d = await backend.filter(model, layer, filter, channel);
  const scale = colours.scale ?? d.scale;
  const readout = h('div', { class: 'readout', 'data-testid': 'value-readout', 'aria-live': 'polite' }, 'hover a cell for its value');
  const channels = h('div', { class: 'channels', role: 'group', 'aria-label': 'input channels of this filter' });
  const shapes = d.channels.map(laidOut);
  const px = Math.max(2, Math.min(16, Math.floor(48 / Math.max(shapes[0]?.rows ?? 1, shapes[0]?.cols ?? 1, 1))));
  // A window of at most CHANNEL_WINDOW thumbnails holding the chosen channel; the menu reaches the rest.
  const from = Math.floor(d.channel / CHANNEL_WINDOW) * CHANNEL_WINDOW;
  const to = Math.min(d.channelCount, from + CHANNEL_WINDOW);
  shapes.slice(from, to).forEach((m, i) => {
    const c = from + i;
    const fig = h(
      'button',
      {
        type: 'button',
        class: c === d.channel ? 'channel selected' : 'channel',
        'aria-pressed': String(c === d.channel),
        'aria-label': d.channelCount > 1 ? `in ${c} (input channel ${c})` : 'the filter',
        'data-channel': c,
        onclick: () => onChannel(c),
      },
      thumbnail(m, scale, colours.colormap, px),
      h('span', { class: 'caption' }, d.channelCount > 1 ? `in ${c}` : ''),
    );
    channels.append(fig);
  });
  const stats = h('table', { class: 'stats', 'aria-label': 'statistics of this slice' });
  for (const [key, label] of STAT_ROWS) stats.append(h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, formatNumber(d.stats[key]))));
  const npy = h('button', {
    type: 'button',
    'data-testid': 'download-npy',
    onclick: async () => {
      try {
        const file = await backend.sliceNpy(model, layer, filter, d.perChannel ? d.channel : undefined);
        download(file.name, file.bytes);
      } catch (e) {
        setStatus(viewerError(e), 'error');
      }
    },
  }, 'download this slice (.npy)');
  const matrix = pagedMatrix(d, colours, scale, readout);
  clear(
    root,
    h('h3', {}, d.what),
    h('p', {}, 'In your framework: ', h('code', { 'data-testid': 'expression' }, d.expression), ` — shape (${d.shape.join(', ')}) [${d.axes.join(', ')}]`),
    h('p', { class: 'hint', 'data-testid': 'panel-colours' }, colours.text),
    d.channelCount > 1
      ? h(
          'p',
          { class: 'hint' },
          `${d.channelCount} input channels${d.channelCount > CHANNEL_WINDOW ? ` (showing ${from}–${to - 1}) ` : ''}; choose one to see its values`,
          d.channelCount > CHANNEL_WINDOW
            ? h(
                'label',
                {},
                ', or any channel: ',
                h(
                  'select',
                  { 'data-testid': 'panel-channel', onchange: (e: Event) => onChannel(Number((e.target as HTMLSelectElement).value)) },
                  ...Array.from({ length: d.channelCount }, (_, c) => h('option', { value: c, selected: c === d.channel }, `in ${c}`)),
                ),
              )
            : null,
        )
      : null,
    channels,
    h('div', { class: 'detail-row' }, h('div', {}, matrix, readout), stats),
    npy,
  );
}
