import type { NamedTensor } from '../../../model/named-tensor.js';
import type { LayerRow } from '../../../views/model-view.js';
import type { Backend } from '../backend.js';
import { formatAxes, formatCount, formatScale, formatShape } from '../../../model/format.js';
import { clear, h, setStatus } from '../dom.js';
import { controlBar, controlsQuery, defaultControls } from './controls.js';
import { drawGrid, type GridControls } from './draw.js';
import { showFilter } from './filter-panel.js';
import { histogramView } from './histogram.js';

/** Kernels with more values than this are drawn by the server (its PNG) instead of being sent to the page. */
const MAX_PAGE_VALUES = 4 * 1024 * 1024;

function fail(e: unknown): void {
  setStatus((e as Error).message, 'error');
}

function layerTable(rows: readonly LayerRow[], onPick: (row: LayerRow) => void): HTMLTableElement {
  const table = h(
    'table',
    { class: 'layer-list', 'data-testid': 'layer-list' },
    h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'layer'), h('th', {}, 'class'), h('th', {}, 'output'), h('th', { class: 'num' }, 'params'))),
  );
  const body = h('tbody');
  for (const row of rows) {
    const tr = h(
      'tr',
      { 'data-layer': row.name, class: row.hasWeights ? 'weighted' : '', onclick: () => onPick(row) },
      h('td', { class: 'dot', title: row.hasWeights ? 'has weights' : '' }, row.hasWeights ? '●' : ''),
      h('td', row.parents?.length ? { title: `inside ${row.parents.join(' / ')}` } : {}, row.name),
      h('td', {}, row.className),
      h('td', { 'data-col': 'output' }, row.outputShape ? formatShape(row.outputShape) : ''),
      h('td', { class: 'num' }, row.params ? formatCount(row.params) : ''),
    );
    body.append(tr);
  }
  table.append(body);
  return table;
}

/** Draws the grid into `gridEl` with hover naming each filter and click opening it. */
function paintTiles(
  gridEl: HTMLElement,
  hover: HTMLElement,
  kernel: NamedTensor,
  row: LayerRow,
  controls: GridControls,
  onOpen: (filter: number) => void,
): string[] {
  const drawn = drawGrid(kernel, controls, row.name);
  clear(gridEl);
  const noun = drawn.filterAxis === 'units' ? 'unit' : 'filter';
  if (drawn.matrix) {
    const { canvas, cellPx, rows, cols } = drawn.matrix;
    const at = (e: MouseEvent): { r: number; c: number } | undefined => {
      const rect = canvas.getBoundingClientRect();
      const x = ((e.clientX - rect.left) * canvas.width) / rect.width - 1;
      const y = ((e.clientY - rect.top) * canvas.height) / rect.height - 1;
      const r = Math.floor(y / cellPx);
      const c = Math.floor(x / cellPx);
      return r >= 0 && r < rows && c >= 0 && c < cols ? { r, c } : undefined;
    };
    canvas.addEventListener('mousemove', (e) => {
      const p = at(e);
      hover.textContent = p ? `${noun} ${p.r}, input ${p.c}` : '';
    });
    canvas.addEventListener('click', (e) => {
      const p = at(e);
      if (p) onOpen(p.r);
    });
    canvas.className = 'matrix-canvas';
    gridEl.append(canvas);
  } else {
    for (const { filter, canvas } of drawn.tiles) {
      const tile = h('div', {
        class: 'tile',
        'data-filter': filter,
        title: `${noun} ${filter}`,
        onmouseenter: () => {
          hover.textContent = `${noun} ${filter}`;
        },
        onclick: () => onOpen(filter),
      });
      tile.append(h('span', { class: 'tile-label' }, String(filter)), canvas);
      gridEl.append(tile);
    }
  }
  const scale = drawn.scale === undefined ? 'each tile on its own scale' : `shared symmetric scale ${formatScale(drawn.scale)}`;
  // The renderer's notes name the CLI's options; here the same choices are the channels menu.
  const notes = drawn.notes.map((n) => n.replace(/--channels <c>/g, 'the channels menu').replace(/--channels (\w+)/g, 'channels: $1'));
  return [scale, ...notes, ...drawn.warnings.map((w) => `warning: ${w}`)];
}

async function showLayer(panel: HTMLElement, backend: Backend, model: number, row: LayerRow, controls: GridControls): Promise<void> {
  const title = h('h2', {}, row.name);
  const facts = h('p', { class: 'facts' }, `${row.className}`, row.kernel ? ` — ${row.kernel.role} ${formatShape(row.kernel.shape)} ${formatAxes(row.kernel.axes)}` : '', row.params ? ` — ${formatCount(row.params)} parameters` : '');
  if (!row.hasWeights) {
    clear(panel, title, facts, h('p', { class: 'hint' }, 'This layer has no weights.'));
    return;
  }
  const histSection = h('section', { class: 'hist-section' }, h('h3', {}, 'Weight histograms'), h('p', { class: 'hint' }, 'reading…'));
  clear(panel, title, facts);
  if (row.kernel && row.filterCount !== undefined) {
    const size = row.kernel.shape.reduce((a, b) => a * b, 1);
    if (size > MAX_PAGE_VALUES && backend.gridPngUrl) {
      panel.append(
        h('p', { class: 'note' }, `This kernel has ${formatCount(size)} values, too many to send to the page: the server draws it (no hover).`),
        h('img', { src: backend.gridPngUrl(model, row.name, controlsQuery(controls)), alt: `filters of ${row.name}`, class: 'pixelated' }),
      );
    } else {
      await drawInPage(panel, backend, model, row, controls);
    }
  }
  panel.append(histSection);
  const hist = await backend.histogram(model, row.name);
  clear(histSection, h('h3', {}, 'Weight histograms'), histogramView(hist));
}

/** The grid drawn in the page from the kernel's values, with the controls, hover names and the filter panel. */
async function drawInPage(panel: HTMLElement, backend: Backend, model: number, row: LayerRow, controls: GridControls): Promise<void> {
  const filterPanel = h('section', { class: 'filter-panel', 'data-testid': 'filter-panel' });
  const hover = h('div', { class: 'hover-label', 'data-testid': 'hover-label' }, 'hover a tile');
  const gridEl = h('div', { class: 'grid', 'data-testid': 'filter-grid' });
  const notes = h('ul', { class: 'notes' });
  const links = h('p', { class: 'links' });
  setStatus(`reading ${row.name}…`, 'busy');
  const kernel = await backend.kernel(model, row.name, row);
  const spatial = (['kd', 'kh', 'kw'] as const).reduce((n, a) => n * (kernel.dim(a) ?? 1), 1);
  // Matrix kernels (Dense, 1x1) and depthwise kernels have no channel choice.
  const channelCount = spatial > 1 && kernel.dim('in') !== undefined && !kernel.axes.includes('mult') ? kernel.dim('in')! : 1;
  const redraw = (): void => {
    try {
      const lines = paintTiles(gridEl, hover, kernel, row, controls, (f) => {
        showFilter(filterPanel, backend, model, row.name, f, 0, controls.colormap).catch(fail);
      });
      clear(notes, ...lines.map((l) => h('li', {}, l)));
      if (backend.gridPngUrl) {
        clear(links, h('a', { href: backend.gridPngUrl(model, row.name, controlsQuery(controls)), download: `${row.name}_filters.png`, 'data-testid': 'grid-png' }, 'this grid as PNG'));
      }
      setStatus('');
    } catch (e) {
      fail(e);
    }
  };
  panel.append(controlBar(controls, channelCount, redraw), gridEl, hover, notes, links, filterPanel);
  redraw();
}

/** The layers tab: the layer list, and for the chosen layer its filter grid, filter panel and histograms. */
export async function layersTab(root: HTMLElement, backend: Backend, initialModel = 0): Promise<void> {
  const models = backend.models();
  const controls = defaultControls();
  const panel = h('section', { class: 'layer-panel', 'data-testid': 'layer-panel' }, h('p', { class: 'hint' }, 'Choose a layer (● = has weights).'));
  const listBox = h('aside', { class: 'layer-aside' });
  const load = async (model: number): Promise<void> => {
    const rows = await backend.layers(model);
    const table = layerTable(rows, (row) => {
      table.querySelectorAll('tr.selected').forEach((tr) => tr.classList.remove('selected'));
      table.querySelector(`tr[data-layer="${CSS.escape(row.name)}"]`)?.classList.add('selected');
      showLayer(panel, backend, model, row, controls).catch(fail);
    });
    const info = models[model]!;
    clear(
      listBox,
      models.length > 1
        ? h(
            'select',
            { 'data-testid': 'model-select', onchange: (e: Event) => void load(Number((e.target as HTMLSelectElement).value)).catch(fail) },
            ...models.map((m) => h('option', { value: m.id, selected: m.id === model }, `${m.id === 0 ? 'before' : 'after'}: ${m.name}`)),
          )
        : null,
      h('p', { class: 'facts' }, `${info.format} (${info.framework}${info.frameworkVersion ? ` ${info.frameworkVersion}` : ''}), ${formatCount(info.totalParams)} parameters in ${info.layerCount} layers`),
      ...info.notes.map((n) => h('p', { class: 'note' }, n)),
      table,
    );
    fillShapes(table, backend, model).catch(fail);
  };
  clear(root, h('div', { class: 'layers-tab' }, listBox, panel));
  await load(initialModel);
}

/** Fills the output column once the architecture has been built (the list shows before that). */
async function fillShapes(table: HTMLTableElement, backend: Backend, model: number): Promise<void> {
  const shapes = await backend.outputShapes(model);
  for (const [name, shape] of Object.entries(shapes)) {
    const cell = table.querySelector(`tr[data-layer="${CSS.escape(name)}"] td[data-col=output]`);
    if (cell && !cell.textContent) cell.textContent = formatShape(shape);
  }
}
