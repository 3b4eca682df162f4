/**
 * The names compute/ offers (preprocessing presets), in a module that imports nothing: a command's help
 * and the viewer's menus list them without loading the engines. What each preset does: preprocess.ts.
 */

export type Preset = 'raw' | 'unit' | 'symmetric' | 'caffe' | 'torchvision';

export const PRESETS: readonly Preset[] = ['raw', 'unit', 'symmetric', 'caffe', 'torchvision'];
