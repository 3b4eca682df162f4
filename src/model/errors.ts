/**
 * Every error a user can cause is a ConvscopeError: its message is one full sentence naming the file,
 * the layer or the value at fault. The CLI prints the message (no stack) and exits non-zero.
 * Anything else that escapes is a bug in convscope.
 */
export class ConvscopeError extends Error {
  override name = 'ConvscopeError';
}

/** The bytes are not a model of the claimed or sniffed format, or they break the format's rules. */
export class ModelFormatError extends ConvscopeError {
  override name = 'ModelFormatError';
}

/** A layer class, data type or feature that convscope recognises but cannot handle (yet). */
export class UnsupportedError extends ConvscopeError {
  override name = 'UnsupportedError';
}

/** A layer, weight, axis or index the user asked for does not exist. */
export class SelectionError extends ConvscopeError {
  override name = 'SelectionError';
}

/** Bad command-line or API options. */
export class UsageError extends ConvscopeError {
  override name = 'UsageError';
}

/** An input the user gave to run a network (an image, an array) cannot be used. */
export class InputError extends ConvscopeError {
  override name = 'InputError';
}

/** A data set (images and labels on disk) is missing, malformed or inconsistent. */
export class DataError extends ConvscopeError {
  override name = 'DataError';
}

/** A model file names something outside its own folder (a path, a URL, a symbolic link, an HDF5 external file). */
export class ContainmentError extends ConvscopeError {
  override name = 'ContainmentError';
}

/** A file asks for more memory than the stated limits allow (a tensor cap, a decompression ratio). */
export class ResourceLimitError extends ConvscopeError {
  override name = 'ResourceLimitError';
}
