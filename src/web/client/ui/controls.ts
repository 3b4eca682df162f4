import { COLORMAP_NAMES, DEFAULT_COLORMAP } from '../../../render/choices.js';
import type { ChannelMode, Normalization } from '../../../render/display.js';
import { h } from '../dom.js';
import type { ViewState } from '../state.js';
import type { GridControls } from './draw.js';

function select(name: string, label: string, options: [string, string][], value: string, onChange: (v: string) => void, disabled = false): HTMLLabelElement {
  const el = h('select', { name, 'data-testid': `control-${name}`, disabled, onchange: (e: Event) => onChange((e.target as HTMLSelectElement).value) });
  for (const [v, text] of options) el.append(h('option', { value: v, selected: v === value }, text));
  return h('label', {}, `${label} `, el);
}

export function defaultControls(): GridControls {
  return { normalize: 'shared', colormap: DEFAULT_COLORMAP, channels: 'auto', cellPx: undefined };
}

/** The grid options a URL names (anything unknown falls back to the default). */
export function controlsFromState(state: ViewState): GridControls {
  const c = defaultControls();
  if (state.normalize === 'per-filter') c.normalize = 'per-filter';
  if (state.colormap && (COLORMAP_NAMES as readonly string[]).includes(state.colormap)) c.colormap = state.colormap;
  if (state.channels) c.channels = (/^\d+$/.test(state.channels) ? Number(state.channels) : state.channels) as ChannelMode;
  if (state.zoom && /^\d+$/.test(state.zoom)) c.cellPx = Number(state.zoom);
  return c;
}

/** Grid options as URL state (defaults left out). */
export function controlsState(c: GridControls): Partial<ViewState> {
  const d = defaultControls();
  return {
    normalize: c.normalize === d.normalize ? undefined : c.normalize,
    colormap: c.colormap === d.colormap ? undefined : c.colormap,
    channels: c.channels === 'auto' ? undefined : String(c.channels),
    zoom: c.cellPx === undefined ? undefined : String(c.cellPx),
  };
}

/**
 * The renderer's options as form controls: normalization, colormap, channel mode (every input channel
 * of the layer), zoom. On an RGB composite the colormap menu is disabled and says why.
 */
export function controlBar(state: GridControls, channelCount: number, rgb: boolean, onChange: (next: GridControls) => void): HTMLElement {
  const channelOptions: [string, string][] = [
    ['auto', 'auto'],
    ['each', 'each channel'],
    ['mean', 'mean of channels'],
    ...(channelCount === 3 ? ([['rgb', 'RGB composite']] as [string, string][]) : []),
    ...Array.from({ length: channelCount }, (_, c): [string, string] => [String(c), `channel ${c}`]),
  ];
  const zooms: [string, string][] = [['auto', 'auto'], ...[1, 2, 4, 6, 8, 12, 16, 24, 32].map((z): [string, string] => [String(z), `${z} px/cell`])];
  const change = (patch: Partial<GridControls>): void => onChange({ ...state, ...patch });
  return h(
    'div',
    { class: 'controls' },
    select('normalize', 'scale', [['shared', 'shared (layer)'], ['per-filter', 'per filter']], state.normalize, (v) => change({ normalize: v as Normalization })),
    select('colormap', 'colormap', COLORMAP_NAMES.map((n) => [n, n]), state.colormap, (v) => change({ colormap: v }), rgb),
    rgb ? h('span', { class: 'hint', 'data-testid': 'colormap-note' }, 'not used by the RGB composite (choose a channel to use it)') : null,
    channelCount > 1
      ? select('channels', 'channels', channelOptions, String(state.channels), (v) => change({ channels: (/^\d+$/.test(v) ? Number(v) : v) as ChannelMode }))
      : null,
    select('zoom', 'zoom', zooms, state.cellPx === undefined ? 'auto' : String(state.cellPx), (v) => change({ cellPx: v === 'auto' ? undefined : Number(v) })),
  );
}

/** The controls as query parameters of the server's grid.png (same names as the CLI's options). */
export function controlsQuery(state: GridControls): URLSearchParams {
  const q = new URLSearchParams({ normalize: state.normalize, colormap: state.colormap, channels: String(state.channels) });
  if (state.cellPx !== undefined) q.set('cell', String(state.cellPx));
  return q;
}
