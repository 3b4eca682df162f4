/** snappyjs ships no types; the one function convscope uses. */
declare module 'snappyjs' {
  /** Inflates a raw snappy block; throws when its declared length exceeds `maxLength`. */
  export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
  const snappy: { uncompress: typeof uncompress };
  export default snappy;
}
