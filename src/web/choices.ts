/**
 * The defaults of the viewer's and the report's limits, in a module that imports nothing: a command's
 * help shows them without loading the server.
 */

/** Largest image upload the viewer accepts. */
export const DEFAULT_UPLOAD_LIMIT = 16 * 1024 * 1024;

/** Default largest weight a report embeds: a VGG16 conv kernel (9.4 MB) fits, its 400 MB Dense kernel does not. */
export const DEFAULT_MAX_WEIGHT_BYTES = 16 * 1024 * 1024;
