/**
 * The value codec (SPEC §4): JavaScript values ⇄ an inline structural byte stream plus out-of-band
 * segments (typed array memory, written by the native gather-write straight from the caller's arrays).
 *
 * ```ts
 * import { Encoder, Decoder, TypeRegistry } from './codec';
 * const registry = new TypeRegistry();
 * const { inline, segments } = new Encoder(registry).encode({ a: [1, 2n, new Float64Array(4096)] }, 'args');
 * const back = new Decoder(registry).decode(inline, segments.map((s) => new Uint8Array(s.buffer, s.byteOffset, s.byteLength).slice().buffer));
 * ```
 */
export { Encoder, type Encoded, type EncoderOptions } from './encoder';
export { Decoder } from './decoder';
export { EncodeError, DecodeError } from './codec-errors';
export { TypeRegistry, type Extension, type FunctionCodec, type ValueReader, type ValueWriter, type ClassOptions } from './registry';
