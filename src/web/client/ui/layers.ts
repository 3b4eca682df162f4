import type { NamedTensor } from '../../../model/named-tensor.js';
import type { LayerRow } from '../../../views/model-view.js';
import type { Backend } from '../backend.js';
import { formatAxes, formatCount, formatScale, formatShape } from '../../../model/format.js';
import { layersInModule } from '../../../model/lookup.js';
import { clear, h, setStatus } from '../dom.js';
import type { Router, ViewState } from '../state.js';
import { OVERVIEW_ABOVE } from '../../../views/kernel-overview.js';
import { viewerError, viewerNote } from '../wording.js';
import { controlBar, controlsFromState, controlsQuery, controlsState } from './controls.js';
import { drawGrid, type DrawnGrid, type GridControls } from './draw.js';
import { colourDecision, showFilter } from './filter-panel.js';
import { histogramView } from './histogram.js';
import { gridKeys, listKeys } from './keys.js';

/** Kernels with more values than this are drawn by the server (its PNG) instead of being sent to the page. */
const MAX_PAGE_VALUES = 4 * 1024 * 1024;
/** Filters drawn per page: 512 filters x 8 channels of 3x3 stay readable as 8 pages of 64. */
export const FILTERS_PER_PAGE = 64;

function fail(e: unknown): void {
  setStatus(viewerError(e), 'error');
}

function layerTable(rows: readonly LayerRow[], onPick: (row: LayerRow) => void): HTMLTableElement {
  const table = h(
    'table',
    { class: 'layer-list', 'data-testid': 'layer-list', 'aria-label': 'layers (arrow keys move, the chosen layer opens)' },
    h(
      'thead',
      {},
      h('tr', {}, h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'weights')), h('th', { scope: 'col' }, 'layer'), h('th', { scope: 'col' }, 'class'), h('th', { scope: 'col' }, 'output'), h('th', { scope: 'col', class: 'num' }, 'params')),
    ),
  );
  const body = h('tbody');
  for (const row of rows) {
    const tr = h(
      'tr',
      { 'data-layer': row.name, class: row.hasWeights ? 'weighted' : '', tabindex: -1, onclick: () => onPick(row) },
      h('td', { class: 'dot', title: row.hasWeights ? 'has weights' : '' }, row.hasWeights ? h('span', { 'aria-label': 'has weights' }, '●') : ''),
      h('td', row.parents?.length ? { class: 'name', title: `inside ${row.parents.join(' / ')}` } : { class: 'name' }, row.name),
      h('td', { class: 'class' }, row.className),
      h('td', { 'data-col': 'output' }, row.outputShape ? formatShape(row.outputShape) : ''),
      h('td', { class: 'num' }, row.params ? formatCount(row.params) : ''),
    );
    body.append(tr);
  }
  table.append(body);
  const first = body.querySelector('tr');
  if (first) first.tabIndex = 0;
  listKeys(body, 'tr', (tr) => {
    const row = rows.find((r) => r.name === tr.getAttribute('data-layer'));
    if (row) onPick(row);
  });
  return table;
}

/** Draws the grid into `gridEl`, each tile named on hover and focus, opened by click or Enter. */
function paintTiles(gridEl: HTMLElement, hover: HTMLElement, drawn: DrawnGrid, onOpen: (filter: number) => void): void {
  clear(gridEl);
  const noun = drawn.filterAxis === 'units' ? 'unit' : 'filter';
  if (drawn.matrix) {
    const { canvas, cellPx, rows, cols, first } = drawn.matrix;
    const at = (e: MouseEvent): { r: number; c: number } | undefined => {
      const rect = canvas.getBoundingClientRect();
      const x = ((e.clientX - rect.left) * canvas.width) / rect.width - 1;
      const y = ((e.clientY - rect.top) * canvas.height) / rect.height - 1;
      const r = Math.floor(y / cellPx);
      const c = Math.floor(x / cellPx);
      return r >= 0 && r < rows && c >= 0 && c < cols ? { r: first + r, c } : undefined;
    };
    let cursor = first;
    canvas.addEventListener('mousemove', (e) => {
      const p = at(e);
      hover.textContent = p ? `${noun} ${p.r}, input ${p.c}` : '';
    });
    canvas.addEventListener('click', (e) => {
      const p = at(e);
      if (p) onOpen(p.r);
    });
    canvas.addEventListener('keydown', (e) => {
      const step = e.key === 'ArrowDown' ? 1 : e.key === 'ArrowUp' ? -1 : 0;
      if (step !== 0) {
        cursor = Math.max(first, Math.min(first + rows - 1, cursor + step));
        hover.textContent = `${noun} ${cursor} (Enter opens it)`;
        e.preventDefault();
      } else if (e.key === 'Enter' || e.key === ' ') {
        onOpen(cursor);
        e.preventDefault();
      }
    });
    canvas.className = 'matrix-canvas';
    canvas.tabIndex = 0;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `${noun}s as rows, inputs as columns; arrow keys choose a ${noun}, Enter opens it`);
    gridEl.append(canvas);
    return;
  }
  for (const { filter, canvas } of drawn.tiles) {
    const tile = h('div', {
      class: 'tile',
      role: 'button',
      tabindex: -1,
      'data-filter': filter,
      'aria-label': `${noun} ${filter}`,
      title: `${noun} ${filter}`,
      onmouseenter: () => {
        hover.textContent = `${noun} ${filter}`;
      },
      onfocus: () => {
        hover.textContent = `${noun} ${filter}`;
      },
      onclick: () => onOpen(filter),
    });
    tile.append(h('span', { class: 'tile-label', 'aria-hidden': 'true' }, String(filter)), canvas);
    gridEl.append(tile);
  }
  const first = gridEl.querySelector<HTMLElement>('.tile');
  if (first) first.tabIndex = 0;
  gridKeys(gridEl, '.tile', (tile) => onOpen(Number(tile.getAttribute('data-filter'))));
}

function gridNotes(drawn: DrawnGrid, colormap: string): string[] {
  const scale = drawn.scale === undefined ? 'each tile on its own scale (per filter)' : `the layer's shared symmetric scale ${formatScale(drawn.scale)}`;
  const colours = drawn.mode === 'rgb' ? `RGB composite: input channels 0, 1, 2 as red, green, blue on ${scale}, mid-grey = 0; the colormap does not apply` : `${colormap} on ${scale}`;
  return [colours, ...drawn.notes, ...drawn.warnings.map((w) => `warning: ${w}`)];
}

/** The pages of a layer's filters, or none when one page holds them all. */
export function pager(count: number, page: number, onPage: (p: number) => void): HTMLElement | null {
  const pages = Math.ceil(count / FILTERS_PER_PAGE);
  if (pages <= 1) return null;
  const select = h(
    'select',
    { 'data-testid': 'grid-page', onchange: (e: Event) => onPage(Number((e.target as HTMLSelectElement).value)) },
    ...Array.from({ length: pages }, (_, p) =>
      h('option', { value: p, selected: p === page }, `filters ${p * FILTERS_PER_PAGE}–${Math.min(count, (p + 1) * FILTERS_PER_PAGE) - 1}`),
    ),
  );
  const step = (d: number, text: string, label: string): HTMLButtonElement =>
    h('button', { type: 'button', 'aria-label': label, disabled: page + d < 0 || page + d >= pages, onclick: () => onPage(page + d) }, text);
  return h('div', { class: 'pager', 'data-testid': 'pager' }, step(-1, '‹', 'previous page'), h('label', {}, 'page ', select), step(1, '›', 'next page'), h('span', { class: 'hint' }, `${count} filters, ${FILTERS_PER_PAGE} per page`));
}

interface LayerView {
  row: LayerRow;
  /** Re-applies the grid options, page and open filter of the state (no reload of the kernel). */
  apply(state: ViewState): Promise<void>;
}

async function showLayer(panel: HTMLElement, backend: Backend, model: number, row: LayerRow, router: Router): Promise<LayerView> {
  const title = h('h2', {}, row.name);
  const facts = h('p', { class: 'facts' }, `${row.className}`, row.kernel ? ` — ${row.kernel.role} ${formatShape(row.kernel.shape)} ${formatAxes(row.kernel.axes)}` : '', row.params ? ` — ${formatCount(row.params)} parameters` : '');
  const none: LayerView = { row, apply: async () => {} };
  if (!row.hasWeights) {
    clear(panel, title, facts, h('p', { class: 'hint' }, 'This layer has no weights.'));
    return none;
  }
  const histSection = h('section', { class: 'hist-section' }, h('h3', {}, 'Weight histograms'), h('p', { class: 'hint' }, 'reading…'));
  clear(panel, title, facts);
  let view = none;
  /** Resolves when the picture is drawn: a big layer's histograms wait for it, so the server does one thing at a time. */
  let drawn: Promise<unknown> = Promise.resolve();
  if (row.kernel && row.filterCount !== undefined) {
    const size = row.kernel.shape.reduce((a, b) => a * b, 1);
    const picture = backend.picture?.(model, row.name);
    if (picture) {
      const img = h('img', { src: picture, alt: `filters of ${row.name}`, class: 'pixelated fit', 'data-testid': 'report-picture' });
      img.addEventListener('click', () => img.classList.toggle('fit'));
      panel.append(h('p', { class: 'note' }, `This kernel has ${formatCount(size)} values, too many for this report: it holds this picture of them (drawn with the default options) and the histograms, not the values.`), h('div', { class: 'picture-box' }, img));
    } else if (size > MAX_PAGE_VALUES && backend.gridPngUrl) {
      const img = h('img', { alt: `filters of ${row.name}`, class: 'pixelated fit', 'data-testid': 'server-grid' });
      img.addEventListener('click', () => img.classList.toggle('fit'));
      // The server does one thing at a time: a filter the link names is answered first, then the picture is drawn.
      const src = backend.gridPngUrl(model, row.name, controlsQuery(controlsFromState(router.current)));
      const drawPicture = (): void => {
        if (!img.getAttribute('src')) img.src = src;
      };
      drawn = new Promise((resolve) => {
        img.addEventListener('load', resolve);
        img.addEventListener('error', resolve);
      });
      const overview = row.kernel.shape.length === 2 && size > OVERVIEW_ABOVE ? ' as an overview of blocks that covers every filter and input' : '';
      const filterPanel = h('section', { class: 'filter-panel', 'data-testid': 'filter-panel', 'aria-live': 'polite' });
      const count = row.filterCount;
      const noun = row.kernel.axes.includes('units') ? 'unit' : 'filter';
      const pick = h('input', { type: 'number', min: 0, max: count - 1, 'data-testid': 'filter-number', 'aria-label': `${noun} number (0 to ${count - 1})` });
      const open = (): void => {
        const f = Number(pick.value);
        if (Number.isInteger(f) && f >= 0 && f < count) router.push({ filter: f, channel: undefined });
        else setStatus(`Choose a ${noun} from 0 to ${count - 1}.`, 'error');
      };
      pick.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') open();
      });
      panel.append(
        h('p', { class: 'note' }, `This kernel has ${formatCount(size)} values, too many to send to the page: the server draws it${overview} (no hover; click the picture to see it at full size).`),
        h('div', { class: 'picture-box' }, img),
        h('p', { class: 'controls' }, h('label', {}, `open ${noun} `, pick), h('button', { type: 'button', onclick: open }, 'open'), h('span', { class: 'hint' }, `0 to ${count - 1}`)),
        filterPanel,
      );
      view = {
        row,
        apply: async (state) => {
          if (state.filter === undefined) {
            clear(filterPanel);
            drawPicture();
            return;
          }
          pick.value = String(state.filter);
          const colormap = controlsFromState(state).colormap;
          const decision = { colormap, scale: undefined, text: `colours: ${colormap} on this ${noun}'s own scale (the picture above uses the layer's shared scale)` };
          try {
            await showFilter(filterPanel, backend, model, row.name, state.filter, state.channel ?? 0, decision, (c) => router.push({ channel: c }));
          } finally {
            drawPicture();
          }
        },
      };
    } else {
      view = await drawInPage(panel, backend, model, row, router);
    }
  }
  panel.append(histSection);
  drawn
    .then(() => backend.histogram(model, row.name))
    .then((hist) => clear(histSection, h('h3', {}, 'Weight histograms'), histogramView(hist)))
    .catch(fail);
  return view;
}

/** The grid drawn in the page from the kernel's values, with the controls, pages, hover names and the filter panel. */
async function drawInPage(panel: HTMLElement, backend: Backend, model: number, row: LayerRow, router: Router): Promise<LayerView> {
  const filterPanel = h('section', { class: 'filter-panel', 'data-testid': 'filter-panel', 'aria-live': 'polite' });
  const hover = h('div', { class: 'hover-label', 'data-testid': 'hover-label' }, 'hover or focus a tile');
  const gridEl = h('div', { class: 'grid', 'data-testid': 'filter-grid' });
  const notes = h('ul', { class: 'notes', 'data-testid': 'grid-notes' });
  const links = h('p', { class: 'links' });
  const bar = h('div');
  const pages = h('div');
  setStatus(`reading ${row.name}…`, 'busy');
  const kernel: NamedTensor = await backend.kernel(model, row.name, row);
  const spatial = (['kd', 'kh', 'kw'] as const).reduce((n, a) => n * (kernel.dim(a) ?? 1), 1);
  // Matrix kernels (Dense, 1x1) and depthwise kernels have no channel choice.
  const channelCount = spatial > 1 && kernel.dim('in') !== undefined && !kernel.axes.includes('mult') ? kernel.dim('in')! : 1;
  const count = row.filterCount!;
  let drawn: DrawnGrid | undefined;
  let shownKey = '';
  const apply = async (state: ViewState): Promise<void> => {
    const controls: GridControls = controlsFromState(state);
    const page = Math.min(state.page ?? 0, Math.max(0, Math.ceil(count / FILTERS_PER_PAGE) - 1));
    const key = JSON.stringify([controls, page]);
    if (key !== shownKey || !drawn) {
      const from = page * FILTERS_PER_PAGE;
      const filters = Array.from({ length: Math.min(FILTERS_PER_PAGE, count - from) }, (_, i) => from + i);
      try {
        drawn = drawGrid(kernel, controls, row.name, undefined, filters);
      } catch (e) {
        fail(e);
        return;
      }
      shownKey = key;
      clear(bar, controlBar(controls, channelCount, drawn.mode === 'rgb', (change) => router.replace({ ...controlsState(change), filter: state.filter })));
      clear(pages, pager(count, page, (p) => router.push({ page: p })));
      paintTiles(gridEl, hover, drawn, (f) => router.push({ filter: f, channel: undefined }));
      clear(notes, ...gridNotes(drawn, controls.colormap).map((l) => h('li', {}, l)));
      if (backend.gridPngUrl) {
        clear(links, h('a', { href: backend.gridPngUrl(model, row.name, controlsQuery(controls)), download: `${row.name}_filters.png`, 'data-testid': 'grid-png' }, 'this grid as PNG'));
      }
      setStatus('');
    }
    if (state.filter === undefined) {
      clear(filterPanel);
      return;
    }
    for (const t of Array.from(gridEl.querySelectorAll('.tile'))) t.classList.toggle('open', t.getAttribute('data-filter') === String(state.filter));
    const decision = colourDecision(drawn, controls, state.filter);
    // The panel opens on the channel the grid shows, when it shows one.
    const channel = state.channel ?? (typeof controls.channels === 'number' ? controls.channels : 0);
    await showFilter(filterPanel, backend, model, row.name, state.filter, channel, decision, (c) => router.push({ channel: c }));
  };
  panel.append(bar, pages, gridEl, hover, notes, links, filterPanel);
  return { row, apply };
}

export interface LayersTab {
  apply(state: ViewState): Promise<void>;
}

/** The layers tab: the layer list, and for the chosen layer its filter grid, filter panel and histograms. */
export async function layersTab(root: HTMLElement, backend: Backend, router: Router): Promise<LayersTab> {
  const panel = h('section', { class: 'layer-panel', 'data-testid': 'layer-panel', 'aria-label': 'the chosen layer' }, h('p', { class: 'hint' }, 'Choose a layer (● = has weights).'));
  const listBox = h('aside', { class: 'layer-aside', 'aria-label': 'layer list' });
  let model = -1;
  let rows: LayerRow[] = [];
  let table: HTMLTableElement | undefined;
  let view: LayerView | undefined;
  const loadModel = async (m: number): Promise<void> => {
    const models = backend.models();
    const info = models[m] ?? models[0]!;
    rows = await backend.layers(info.id);
    model = info.id;
    view = undefined;
    table = layerTable(rows, (row) => router.push({ layer: row.name, filter: undefined, channel: undefined, page: undefined }));
    clear(
      listBox,
      h('p', { class: 'facts' }, `${info.name}: ${info.format} (${info.framework}${info.frameworkVersion ? ` ${info.frameworkVersion}` : ''}), ${formatCount(info.totalParams)} parameters in ${info.layerCount} layers`),
      ...info.notes.map((n) => h('p', { class: 'note' }, viewerNote(n))),
      h('div', { class: 'table-box' }, table),
    );
    clear(panel, h('p', { class: 'hint' }, 'Choose a layer (● = has weights).'));
    fillShapes(table, backend, model).catch(fail);
  };
  clear(root, h('div', { class: 'layers-tab' }, listBox, panel));
  /** An ONNX export's one layer inside a PyTorch module path (a link may name it so, as the CLI takes it). */
  const inModule = (name: string): LayerRow | undefined => {
    const format = backend.models().find((m) => m.id === model)?.format;
    const inside = format === undefined ? [] : layersInModule(format, rows.map((r) => r.name), name);
    return inside.length === 1 ? rows.find((r) => r.name === inside[0]) : undefined;
  };
  return {
    apply: async (state) => {
      if (state.model !== model) await loadModel(state.model);
      const row = state.layer === undefined ? undefined : rows.find((r) => r.name === state.layer) ?? inModule(state.layer);
      if (state.layer !== undefined && !row) {
        setStatus(`There is no layer '${state.layer}' in ${backend.models()[model]?.name}.`, 'error');
        return;
      }
      if (!row) return;
      for (const tr of Array.from(table!.querySelectorAll('tbody tr'))) {
        const chosen = tr.getAttribute('data-layer') === row.name;
        tr.classList.toggle('selected', chosen);
        tr.setAttribute('aria-selected', String(chosen));
        (tr as HTMLElement).tabIndex = chosen ? 0 : -1;
      }
      if (view?.row !== row) view = await showLayer(panel, backend, model, row, router);
      await view.apply(state);
    },
  };
}

/** Fills the output column once the architecture has been built (the list shows before that). */
async function fillShapes(table: HTMLTableElement, backend: Backend, model: number): Promise<void> {
  const shapes = await backend.outputShapes(model);
  for (const [name, shape] of Object.entries(shapes)) {
    const cell = table.querySelector(`tr[data-layer="${CSS.escape(name)}"] td[data-col=output]`);
    if (cell && !cell.textContent) cell.textContent = formatShape(shape);
  }
}
