import type { LayerDiff, ModelDiff } from '../../../analyze/diff.js';
import { NamedTensor } from '../../../model/named-tensor.js';
import type { LayerRow } from '../../../views/model-view.js';
import type { Backend } from '../backend.js';
import { formatCosine, formatNumber, formatPercent, formatScale } from '../../../model/format.js';
import { clear, h, setStatus } from '../dom.js';
import type { Router, ViewState } from '../state.js';
import { viewerError } from '../wording.js';
import { defaultControls } from './controls.js';
import { drawGrid } from './draw.js';
import { FILTERS_PER_PAGE, pager } from './layers.js';

function absMax(t: NamedTensor): number {
  const s = t.stats();
  return Number.isFinite(s.absMax) ? s.absMax : 0;
}

/**
 * Before and after drawn on one symmetric scale, so their colours compare; after − before on its own
 * symmetric scale (its largest |change|), so a change of a few percent is visible rather than flat grey.
 * The grids are paged like the layers tab's (page `page` of FILTERS_PER_PAGE filters), every filter reachable.
 */
async function compareLayer(
  root: HTMLElement,
  backend: Backend,
  pair: [number, number],
  layer: LayerDiff,
  rows: [LayerRow[], LayerRow[]],
  page: number,
  onPage: (p: number) => void,
): Promise<void> {
  const rowBefore = rows[0].find((r) => r.name === layer.name);
  const rowAfter = rows[1].find((r) => r.name === layer.afterName);
  if (!rowBefore?.kernel || !rowAfter?.kernel || rowBefore.filterCount === undefined) {
    clear(root, h('p', { class: 'hint' }, `Layer '${layer.name}' has no kernel drawn as filters.`));
    return;
  }
  const before = await backend.kernel(pair[0], layer.name, rowBefore);
  const after = (await backend.kernel(pair[1], layer.afterName, rowAfter)).toAxes(before.axes);
  const b = before.toFloat32();
  const a = after.toFloat32();
  const delta = new NamedTensor(before.axes, before.shape, a.map((v, i) => v - b[i]!));
  const scale = Math.max(absMax(before), absMax(after));
  const deltaScale = absMax(delta);
  const controls = { ...defaultControls(), channels: before.dim('in') === 3 ? ('rgb' as const) : ('auto' as const) };
  const kernelDiff = layer.weights.find((w) => w.weight === rowBefore.kernel!.role);
  const moved = (kernelDiff?.filters ?? []).filter((f) => f.verdict !== 'unchanged');
  const ranked = moved.slice(0, 8);
  const rankedSet = new Set(ranked.map((f) => f.filter));
  const hover = h('div', { class: 'hover-label', 'data-testid': 'diff-hover' }, 'hover a tile');
  const byFilter = new Map((kernelDiff?.filters ?? []).map((f) => [f.filter, f]));
  const first = Math.min(page, Math.ceil(rowBefore.filterCount / FILTERS_PER_PAGE) - 1) * FILTERS_PER_PAGE;
  const shown = Array.from({ length: Math.min(rowBefore.filterCount - first, FILTERS_PER_PAGE) }, (_, i) => first + i);
  const row = (label: string, t: NamedTensor, testid: string, s: number): HTMLElement => {
    const drawn = drawGrid(t, controls, layer.name, s, shown);
    const grid = h('div', { class: 'grid', 'data-testid': testid });
    if (drawn.matrix) grid.append(drawn.matrix.canvas);
    for (const { filter, canvas } of drawn.tiles) {
      const f = byFilter.get(filter);
      const tile = h('div', {
        class: rankedSet.has(filter) ? 'tile ranked' : 'tile',
        'data-filter': filter,
        title: `filter ${filter}`,
        onmouseenter: () => {
          hover.textContent = `filter ${filter}${f ? `: ${f.verdict}, relative change ${formatNumber(f.relativeChange)}` : ''}`;
        },
      });
      tile.append(h('span', { class: 'tile-label' }, String(filter)), canvas);
      grid.append(tile);
    }
    return h('div', { class: 'diff-row' }, h('h4', {}, label), grid);
  };
  clear(
    root,
    h('h3', {}, `${layer.name}${layer.afterName !== layer.name ? ` → ${layer.afterName}` : ''}: ${layer.verdict}`),
    h(
      'p',
      { class: 'facts', 'data-testid': 'diff-scales' },
      deltaScale > 0
        ? `before and after on one shared symmetric scale ${formatScale(scale)}; after − before on its own scale ${formatScale(deltaScale)} (its largest |change|, ${formatNumber(scale > 0 ? deltaScale / scale : 0)} of the weights' scale); outlined tiles are the most changed filters${moved.length > 8 ? ` (8 of ${moved.length} that changed)` : ''}`
        : `before and after on one shared symmetric scale ${formatScale(scale)}; no weight of this layer changed, so after − before is zero everywhere`,
    ),
    pager(rowBefore.filterCount, first / FILTERS_PER_PAGE, onPage),
    row('before', before, 'diff-before', scale),
    row('after', after, 'diff-after', scale),
    row(deltaScale > 0 ? `after − before (scale ${formatScale(deltaScale)})` : 'after − before (zero everywhere)', delta, 'diff-delta', deltaScale),
    hover,
    ranked.length > 0
      ? h(
          'table',
          { class: 'ranked-filters', 'data-testid': 'ranked-filters' },
          h('tr', {}, h('th', {}, 'filter'), h('th', {}, 'verdict'), h('th', {}, 'relative change'), h('th', {}, 'max |change|'), h('th', {}, 'cosine')),
          ...ranked.map((f) => h('tr', {}, h('td', {}, f.filter), h('td', {}, f.verdict), h('td', {}, formatNumber(f.relativeChange)), h('td', {}, formatNumber(f.maxAbsChange)), h('td', {}, formatCosine(f.cosine)))),
        )
      : null,
  );
}

function summary(diff: ModelDiff): HTMLElement {
  return h(
    'section',
    { class: `verdict verdict-${diff.summary.verdict}`, 'data-testid': 'diff-summary' },
    h('h2', {}, `verdict: ${diff.summary.verdict}`),
    h('p', { class: 'facts' }, `before: ${diff.before}`, h('br'), `after: ${diff.after}`),
    h('ul', { 'data-testid': 'diagnosis' }, ...diff.summary.diagnosis.map((d) => h('li', {}, d))),
    ...diff.notes.map((n) => h('p', { class: 'note' }, n)),
    diff.onlyBefore.length ? h('p', { class: 'note' }, `only in before: ${diff.onlyBefore.join(', ')}`) : null,
    diff.onlyAfter.length ? h('p', { class: 'note' }, `only in after: ${diff.onlyAfter.join(', ')}`) : null,
  );
}

/** The two models compared: the state's model and `compare` (default: the next one). */
function pairOf(state: ViewState, count: number): [number, number] {
  const before = Math.min(state.model, count - 1);
  const after = state.compare !== undefined && state.compare < count && state.compare !== before ? state.compare : before === 0 ? 1 : 0;
  return [before, after];
}

function pairPicker(backend: Backend, router: Router, pair: [number, number]): HTMLElement | null {
  const models = backend.models();
  if (models.length < 3) return null;
  const pick = (label: string, value: number, key: 'model' | 'compare'): HTMLElement =>
    h(
      'label',
      {},
      `${label} `,
      h(
        'select',
        { 'data-testid': `diff-${label}`, onchange: (e: Event) => router.push({ [key]: Number((e.target as HTMLSelectElement).value), layer: undefined }) },
        ...models.map((m) => h('option', { value: m.id, selected: m.id === value }, m.name)),
      ),
    );
  return h('div', { class: 'controls' }, pick('before', pair[0], 'model'), pick('after', pair[1], 'compare'));
}

/** The diff tab: verdicts, layers ranked by change, and a layer's before/after/delta grids; any two of the models. */
export function diffTab(root: HTMLElement, backend: Backend, router: Router): { apply(state: ViewState): Promise<void> } {
  let shownPair = '';
  let rows: [LayerRow[], LayerRow[]] = [[], []];
  let diff: ModelDiff | undefined;
  let compare: HTMLElement | undefined;
  let shownLayer = '';
  return {
    apply: async (state) => {
      const pair = pairOf(state, backend.models().length);
      if (JSON.stringify(pair) !== shownPair) {
        shownPair = JSON.stringify(pair);
        shownLayer = '';
        const progress = h('progress', { max: 1, value: 0, 'aria-label': 'progress' });
        const message = h('span', {}, 'comparing…');
        clear(root, pairPicker(backend, router, pair), h('div', { class: 'progress' }, progress, message));
        diff = await backend.diff(pair, (fraction, text) => {
          progress.value = fraction;
          message.textContent = text;
        });
        rows = [await backend.layers(pair[0]), await backend.layers(pair[1])];
        compare = h('section', { class: 'compare', 'data-testid': 'diff-compare', 'aria-live': 'polite' });
        const ranked = [...diff.layers].sort((x, y) => y.relativeChange - x.relativeChange);
        const table = h(
          'table',
          { class: 'ranked-layers', 'data-testid': 'ranked-layers', 'aria-label': 'layers, most changed first' },
          h('tr', {}, ...['layer', 'class', 'verdict', 'relative change', 'max |change|', 'unchanged', 'cosine'].map((t) => h('th', { scope: 'col' }, t))),
        );
        for (const l of ranked) {
          table.append(
            h(
              'tr',
              { 'data-layer': l.name, class: `verdict-${l.verdict}`, tabindex: 0, onclick: () => router.push({ layer: l.name, page: undefined }), onkeydown: (e: Event) => {
                if ((e as KeyboardEvent).key === 'Enter') router.push({ layer: l.name, page: undefined });
              } },
              h('td', {}, l.afterName === l.name ? l.name : `${l.name} → ${l.afterName}`),
              h('td', {}, l.className),
              h('td', {}, l.verdict),
              h('td', {}, formatNumber(l.relativeChange)),
              h('td', {}, formatNumber(l.maxAbsChange)),
              h('td', {}, formatPercent(l.unchangedFraction)),
              h('td', {}, formatCosine(l.cosine)),
            ),
          );
        }
        clear(root, pairPicker(backend, router, pair), summary(diff), h('h3', {}, 'Layers, most changed first (click one, or Tab to it and press Enter)'), table, compare);
      }
      const ranked = [...diff!.layers].sort((x, y) => y.relativeChange - x.relativeChange);
      const chosen = (state.layer ? ranked.find((l) => l.name === state.layer) : undefined) ?? ranked.find((l) => rows[0].find((r) => r.name === l.name)?.filterCount !== undefined);
      const page = state.page ?? 0;
      if (chosen && `${chosen.name}@${page}` !== shownLayer) {
        shownLayer = `${chosen.name}@${page}`;
        await compareLayer(compare!, backend, pair, chosen, rows, page, (p) => router.push({ page: p })).catch((e: Error) => setStatus(viewerError(e), 'error'));
      }
    },
  };
}
