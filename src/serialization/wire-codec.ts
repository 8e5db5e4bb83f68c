/**
 * The process-wide codec: one type registry (function shipping, host types, registered classes), one
 * encoder whose buffer is reused by every frame, one decoder.
 */
// The defining modules, not the codec.ts facade (a module of re-exports is a slow dictionary object).
import { Encoder, type Encoded } from './encoder';
import { Decoder } from './decoder';
import { TypeRegistry } from './registry';
import { functionCodec } from './functions';

/** Every type that travels specially is registered here, on every process. */
export const registry = new TypeRegistry();
registry.setFunctionCodec(functionCodec);

const encoder = new Encoder(registry);
const decoder = new Decoder(registry);

/**
 * Encodes a value for one peer; the result is valid until the next encode. `rootPath` names the value in
 * encode errors; a list names the elements of an array payload (`['f', 'args']` → `args[0].conn`).
 */
export function encodeValue(value: unknown, rootPath: string | readonly string[], context: unknown): Encoded {
  return encoder.encode(value, rootPath, context);
}

/** Decodes a value received from one peer. */
export function decodeValue(inline: Uint8Array, segments: readonly ArrayBuffer[], context: unknown): unknown {
  return decoder.decode(inline, segments, context);
}
