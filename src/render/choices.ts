/**
 * The names and defaults render/ offers (colormaps, histogram bins), in a module that imports nothing:
 * a command's help and the viewer's menus list them without loading the drawing code.
 */

export const COLORMAP_NAMES = ['rdbu_r', 'rdbu', 'coolwarm', 'piyg', 'brbg', 'gray', 'viridis', 'magma', 'inferno', 'plasma', 'cividis'] as const;

export type ColormapName = (typeof COLORMAP_NAMES)[number];

/** The colormap used when none is asked for: diverging, so the sign of a weight is its hue. */
export const DEFAULT_COLORMAP: ColormapName = 'rdbu_r';

/** The colormap of feature maps (activations are mostly non-negative: a sequential map). */
export const DEFAULT_MAP_COLORMAP: ColormapName = 'viridis';

export const DEFAULT_BINS = 50;
