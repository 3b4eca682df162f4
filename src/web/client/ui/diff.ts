import type { LayerDiff, ModelDiff } from '../../../analyze/diff.js';
import { NamedTensor } from '../../../model/named-tensor.js';
import type { LayerRow } from '../../../views/model-view.js';
import type { Backend } from '../backend.js';
import { formatCosine, formatNumber, formatPercent, formatScale } from '../../../model/format.js';
import { clear, h, setStatus } from '../dom.js';
import { defaultControls } from './controls.js';
import { drawGrid } from './draw.js';

function absMax(t: NamedTensor): number {
  const s = t.stats();
  return Number.isFinite(s.absMax) ? s.absMax : 0;
}

/** Before, after and their difference drawn on ONE symmetric scale, so colours compare across the three. */
async function compareLayer(root: HTMLElement, backend: Backend, layer: LayerDiff, rows: [LayerRow[], LayerRow[]]): Promise<void> {
  const rowBefore = rows[0].find((r) => r.name === layer.name);
  const rowAfter = rows[1].find((r) => r.name === layer.afterName);
  if (!rowBefore?.kernel || !rowAfter?.kernel || rowBefore.filterCount === undefined) {
    clear(root, h('p', { class: 'hint' }, `Layer '${layer.name}' has no kernel drawn as filters.`));
    return;
  }
  const before = await backend.kernel(0, layer.name, rowBefore);
  const after = (await backend.kernel(1, layer.afterName, rowAfter)).toAxes(before.axes);
  const b = before.toFloat32();
  const a = after.toFloat32();
  const delta = new NamedTensor(before.axes, before.shape, a.map((v, i) => v - b[i]!));
  const scale = Math.max(absMax(before), absMax(after), absMax(delta));
  const controls = { ...defaultControls(), channels: before.dim('in') === 3 ? ('rgb' as const) : ('auto' as const) };
  const kernelDiff = layer.weights.find((w) => w.weight === rowBefore.kernel!.role);
  const moved = (kernelDiff?.filters ?? []).filter((f) => f.verdict !== 'unchanged');
  const ranked = moved.slice(0, 8);
  const rankedSet = new Set(ranked.map((f) => f.filter));
  const hover = h('div', { class: 'hover-label', 'data-testid': 'diff-hover' }, 'hover a tile');
  const byFilter = new Map((kernelDiff?.filters ?? []).map((f) => [f.filter, f]));
  const row = (label: string, t: NamedTensor, testid: string): HTMLElement => {
    const drawn = drawGrid(t, controls, layer.name, scale);
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
    h('p', { class: 'facts' }, `one shared symmetric scale ${formatScale(scale)} for before, after and after − before; outlined tiles are the most changed filters${moved.length > 8 ? ` (8 of ${moved.length} that changed)` : ''}`),
    row('before', before, 'diff-before'),
    row('after', after, 'diff-after'),
    row('after − before', delta, 'diff-delta'),
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
    h('ul', {}, ...diff.summary.diagnosis.map((d) => h('li', {}, d))),
    ...diff.notes.map((n) => h('p', { class: 'note' }, n)),
    diff.onlyBefore.length ? h('p', { class: 'note' }, `only in before: ${diff.onlyBefore.join(', ')}`) : null,
    diff.onlyAfter.length ? h('p', { class: 'note' }, `only in after: ${diff.onlyAfter.join(', ')}`) : null,
  );
}

/** The diff tab: verdicts, layers ranked by change, and a layer's before/after/delta grids. */
export async function diffTab(root: HTMLElement, backend: Backend): Promise<void> {
  const progress = h('progress', { max: 1, value: 0 });
  const message = h('span', {}, 'comparing…');
  clear(root, h('div', { class: 'progress' }, progress, message));
  const diff = await backend.diff((fraction, text) => {
    progress.value = fraction;
    message.textContent = text;
  });
  const rows: [LayerRow[], LayerRow[]] = [await backend.layers(0), await backend.layers(1)];
  const compare = h('section', { class: 'compare', 'data-testid': 'diff-compare' });
  const ranked = [...diff.layers].sort((x, y) => y.relativeChange - x.relativeChange);
  const table = h(
    'table',
    { class: 'ranked-layers', 'data-testid': 'ranked-layers' },
    h('tr', {}, h('th', {}, 'layer'), h('th', {}, 'class'), h('th', {}, 'verdict'), h('th', {}, 'relative change'), h('th', {}, 'max |change|'), h('th', {}, 'unchanged'), h('th', {}, 'cosine')),
  );
  for (const l of ranked) {
    table.append(
      h(
        'tr',
        {
          'data-layer': l.name,
          class: `verdict-${l.verdict}`,
          onclick: () => void compareLayer(compare, backend, l, rows).catch((e: Error) => setStatus(e.message, 'error')),
        },
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
  clear(root, summary(diff), h('h3', {}, 'Layers, most changed first (click one)'), table, compare);
  const first = ranked.find((l) => rows[0].find((r) => r.name === l.name)?.filterCount !== undefined);
  if (first) await compareLayer(compare, backend, first, rows);
}
