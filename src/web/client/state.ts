/**
 * What the viewer shows, as a URL: the tab, the model, the layer, the open filter and channel, the grid's
 * options and its page. Reload keeps it, a link shares it, Back returns to the previous choice. The
 * served viewer keeps it in the query (`?layer=conv2d&filter=7`); a report, opened from disk, in the
 * fragment (`#layer=conv2d&filter=7`), where a page read from a file may write it.
 */
export interface ViewState {
  tab: string;
  model: number;
  layer?: string;
  filter?: number;
  channel?: number;
  colormap?: string;
  normalize?: string;
  channels?: string;
  zoom?: string;
  page?: number;
  /** The second model of a diff (the first is `model`). */
  compare?: number;
  /** "What it detects": the part shown (maximize, examples, attribution) and its choices. */
  part?: string;
  objective?: string;
  steps?: number;
  data?: number;
  statistic?: string;
  method?: string;
  class?: number;
  /** A sample photograph by name (attribution). */
  sample?: string;
  preprocess?: string;
  /** How attribution's photo is fitted to the input (a resize mode; absent: the model's default). */
  resize?: string;
}

const NUMBERS = ['model', 'filter', 'channel', 'page', 'compare', 'steps', 'data', 'class'] as const;
const STRINGS = ['tab', 'layer', 'colormap', 'normalize', 'channels', 'zoom', 'part', 'objective', 'statistic', 'method', 'sample', 'preprocess', 'resize'] as const;

function usesFragment(): boolean {
  return location.protocol !== 'http:' && location.protocol !== 'https:';
}

function parse(params: URLSearchParams): ViewState {
  const state: ViewState = { tab: 'layers', model: 0 };
  for (const key of STRINGS) {
    const v = params.get(key);
    if (v) state[key] = v;
  }
  for (const key of NUMBERS) {
    const v = params.get(key);
    if (v !== null && /^\d{1,9}$/.test(v)) state[key] = Number(v);
  }
  return state;
}

/** The state the address bar names (query and fragment both read; the fragment wins). */
export function readState(): ViewState {
  const params = new URLSearchParams(location.search);
  for (const [k, v] of new URLSearchParams(location.hash.replace(/^#/, ''))) params.set(k, v);
  return parse(params);
}

function serialize(state: ViewState): string {
  const params = new URLSearchParams();
  for (const key of [...STRINGS, ...NUMBERS]) {
    const v = state[key];
    if (v === undefined || (key === 'tab' && v === 'layers') || (key === 'model' && v === 0)) continue;
    params.set(key, String(v));
  }
  return params.toString();
}

type Listener = (state: ViewState) => void;

/**
 * The one place the page's state changes: `push` adds a history entry (a new layer, filter or tab),
 * `replace` rewrites the current one (a grid option); every change, Back and Forward included, tells the listener.
 */
export class Router {
  private state: ViewState;
  private listener: Listener = () => {};

  constructor() {
    this.state = readState();
    window.addEventListener('popstate', () => {
      this.state = readState();
      this.listener(this.state);
    });
  }

  get current(): ViewState {
    return this.state;
  }

  /** Called after every change: a push, a replace, or Back/Forward. */
  onChange(listener: Listener): void {
    this.listener = listener;
  }

  push(change: Partial<ViewState>): void {
    this.write(change, 'push');
  }

  replace(change: Partial<ViewState>): void {
    this.write(change, 'replace');
  }

  private write(change: Partial<ViewState>, how: 'push' | 'replace'): void {
    const next: ViewState = { ...this.state, ...change };
    for (const k of Object.keys(next) as (keyof ViewState)[]) if (next[k] === undefined) delete next[k];
    const text = serialize(next);
    const same = text === serialize(this.state);
    this.state = next;
    if (same && how === 'push') return;
    const url = usesFragment() ? `${location.pathname}${location.search}${text ? `#${text}` : ''}` : `${location.pathname}${text ? `?${text}` : ''}`;
    try {
      if (how === 'push') history.pushState(null, '', url);
      else history.replaceState(null, '', url);
    } catch {
      // A page opened from disk may refuse history changes; the view still follows the state.
    }
    this.listener(this.state);
  }
}
