import { UsageError } from '../model/errors.js';
import { DEAD_THRESHOLD, type FilterAnalysis } from '../analyze/filter-health.js';
import { filterValues, type FilterSet } from '../model/filters.js';
import type { Note } from '../model/model.js';

/** How input channels are shown: composited, side by side, averaged, or one picked. */
export type ChannelMode = 'auto' | 'rgb' | 'each' | 'mean' | number;
export type Normalization = 'shared' | 'per-filter';

/** The channel mode actually drawn (after `auto` is resolved). */
export type DrawMode = 'rgb' | 'each' | 'mean' | 'channel' | 'matrix';

/** Most input channels `each` lays out as columns; more are cut with a note. */
export const DEFAULT_MAX_COLUMNS = 16;
/** Most tiles `each` draws by default: fewer columns when there are many filters (512 filters: 8). */
const DEFAULT_MAX_TILES = 4096;

/**
 * Per-filter values as drawn: [column][rgb component (rgb only)][depth][height][width], where a column
 * is one input channel in `each` mode and there is one column otherwise.
 */
export interface Display {
  mode: DrawMode;
  /** Input channels drawn as columns (`each`), or the one channel picked. */
  channels: number[];
  /** Columns per filter. */
  columns: number;
  /** 3 for rgb composites, else 1. */
  components: number;
  values(f: number): Float32Array;
  /** The symmetric scale of filter f's tile (shared: the same for all). 0 means flat. */
  scaleOf(f: number): number;
  /** The shared scale, or undefined with per-filter normalization. */
  sharedScale: number | undefined;
  /** Facts about the drawing, with the setting that would change them (each surface names its control). */
  notes: Note[];
}

export interface DisplayOptions {
  channels?: ChannelMode;
  normalize?: Normalization;
  /** A symmetric scale given by the caller (for example one shared by two checkpoints). */
  scale?: number;
  maxColumns?: number;
  /** How many filters are drawn (for the default column cap). */
  shownFilters: number;
  /** For messages: `layer 'conv2d'`. */
  name: string;
}

function resolveMode(set: FilterSet, channels: ChannelMode, name: string): DrawMode {
  if (set.matrix) {
    if (channels !== 'auto') {
      throw new UsageError(
        `Channel mode '${channels}' applies to convolution kernels, but ${name} is drawn as one ${set.filterAxis} x ${set.channelAxis} matrix; leave the channel mode at auto.`,
        { concept: 'channels' },
      );
    }
    return 'matrix';
  }
  if (typeof channels === 'number') {
    if (!Number.isInteger(channels) || channels < 0 || channels >= set.channelCount) {
      throw new UsageError(
        `Channel ${channels} is out of range for ${name}: it has ${set.channelCount} input channel${set.channelCount === 1 ? '' : 's'} per filter (valid: 0 to ${set.channelCount - 1}).`,
      );
    }
    return 'channel';
  }
  if (channels === 'rgb') {
    if (set.channelCount !== 3) {
      throw new UsageError(`Channel mode 'rgb' needs filters with 3 input channels, but ${name} has ${set.channelCount}; show each channel, their mean or one channel.`, {
        concept: 'channels',
      });
    }
    return 'rgb';
  }
  if (channels === 'auto') return set.channelCount === 3 ? 'rgb' : 'each';
  return channels;
}

function absMax(v: Float32Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]!);
    if (a > m) m = a;
  }
  return m;
}

/** Chooses what each filter's tile shows and the scale it is drawn on. */
export function buildDisplay(set: FilterSet, analysis: FilterAnalysis, options: DisplayOptions): Display {
  const mode = resolveMode(set, options.channels ?? 'auto', options.name);
  const tile = set.depth * set.height * set.width;
  const notes: Note[] = [];
  let channels: number[] = [];
  let values: (f: number) => Float32Array;
  if (mode === 'mean') {
    values = (f) => {
      const v = filterValues(set, f);
      const out = new Float32Array(tile);
      for (let c = 0; c < set.channelCount; c++) for (let i = 0; i < tile; i++) out[i]! += v[c * tile + i]!;
      for (let i = 0; i < tile; i++) out[i]! /= set.channelCount;
      return out;
    };
  } else if (mode === 'channel') {
    const c = options.channels as number;
    channels = [c];
    values = (f) => filterValues(set, f, c, c + 1);
  } else if (mode === 'each') {
    const max = options.maxColumns ?? Math.max(1, Math.min(DEFAULT_MAX_COLUMNS, Math.floor(DEFAULT_MAX_TILES / options.shownFilters)));
    const shown = Math.min(set.channelCount, max);
    channels = Array.from({ length: shown }, (_, c) => c);
    if (shown < set.channelCount) {
      notes.push({ text: `showing input channels 0-${shown - 1} of ${set.channelCount} as columns; pick one channel, or their mean, to see the others`, concept: 'channels' });
    }
    values = (f) => filterValues(set, f, 0, shown);
  } else {
    values = (f) => filterValues(set, f);
  }
  const columns = mode === 'each' ? channels.length : mode === 'matrix' ? set.channelCount : 1;
  const components = mode === 'rgb' ? 3 : 1;

  const live = (f: number): boolean => (analysis.filterAbsMax[f] ?? 0) >= DEAD_THRESHOLD;
  let sharedScale: number | undefined;
  let scaleOf: (f: number) => number;
  if ((options.normalize ?? 'shared') === 'shared') {
    let s = options.scale;
    if (s === undefined) {
      s = 0;
      if (mode === 'mean') for (let f = 0; f < set.filterCount; f++) s = Math.max(s, absMax(values(f)));
      else s = analysis.absMax;
    }
    sharedScale = s;
    scaleOf = (f) => (live(f) ? s! : 0);
  } else {
    const scales = new Float64Array(set.filterCount);
    for (let f = 0; f < set.filterCount; f++) scales[f] = live(f) ? absMax(values(f)) : 0;
    scaleOf = (f) => scales[f]!;
  }
  return { mode, channels, columns, components, values, scaleOf, sharedScale, notes };
}
