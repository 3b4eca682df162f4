/**
 * The names analyze/ offers (attribution methods), in a module that imports nothing: a command's help
 * and the viewer's menus list them without loading the maths. What each method computes: attribution.ts.
 */

export type AttributionMethod = 'saliency' | 'smoothgrad' | 'gradcam' | 'gradcam++' | 'scorecam' | 'integrated-gradients' | 'occlusion';

export const ATTRIBUTION_METHODS: readonly AttributionMethod[] = ['saliency', 'smoothgrad', 'gradcam', 'gradcam++', 'scorecam', 'integrated-gradients', 'occlusion'];
