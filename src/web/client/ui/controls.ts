import { COLORMAP_NAMES, DEFAULT_COLORMAP } from '../../../render/colormap.js';
import type { ChannelMode } from '../../../render/display.js';
import { h } from '../dom.js';
import type { GridControls } from './draw.js';

function select(name: string, label: string, options: [string, string][], value: string, onChange: (v: string) => void): HTMLLabelElement {
  const el = h('select', { name, 'data-testid': `control-${name}`, onchange: (e: Event) => onChange((e.target as HTMLSelectElement).value) });
  for (const [v, text] of options) el.append(h('option', { value: v, selected: v === value }, text));
  return h('label', {}, `${label} `, el);
}

export function defaultControls(): GridControls {
  return { normalize: 'shared', colormap: DEFAULT_COLORMAP, channels: 'auto', cellPx: undefined };
}

/** The renderer's options as form controls: normalization, colormap, channel mode, zoom. */
export function controlBar(state: GridControls, channelCount: number, onChange: () => void): HTMLElement {
  const channelOptions: [string, string][] = [
    ['auto', 'auto'],
    ['each', 'each channel'],
    ['mean', 'mean of channels'],
    ...(channelCount === 3 ? ([['rgb', 'RGB composite']] as [string, string][]) : []),
    ...Array.from({ length: Math.min(channelCount, 64) }, (_, c): [string, string] => [String(c), `channel ${c}`]),
  ];
  const zooms: [string, string][] = [['auto', 'auto'], ...[1, 2, 4, 6, 8, 12, 16].map((z): [string, string] => [String(z), `${z} px/cell`])];
  return h(
    'div',
    { class: 'controls' },
    select('normalize', 'scale', [['shared', 'shared (layer)'], ['per-filter', 'per filter']], state.normalize, (v) => {
      state.normalize = v as GridControls['normalize'];
      onChange();
    }),
    select('colormap', 'colormap', COLORMAP_NAMES.map((n) => [n, n]), state.colormap, (v) => {
      state.colormap = v;
      onChange();
    }),
    channelCount > 1
      ? select('channels', 'channels', channelOptions, String(state.channels), (v) => {
          state.channels = (/^\d+$/.test(v) ? Number(v) : v) as ChannelMode;
          onChange();
        })
      : null,
    select('zoom', 'zoom', zooms, state.cellPx === undefined ? 'auto' : String(state.cellPx), (v) => {
      state.cellPx = v === 'auto' ? undefined : Number(v);
      onChange();
    }),
  );
}

/** The controls as query parameters of the server's grid.png (same names as the CLI's options). */
export function controlsQuery(state: GridControls): URLSearchParams {
  const q = new URLSearchParams({ normalize: state.normalize, colormap: state.colormap, channels: String(state.channels) });
  if (state.cellPx !== undefined) q.set('cell', String(state.cellPx));
  return q;
}
