/**
 * Futures and RemoteChannels travel by reference (extension tags 1 and 2), registering their receiver
 * with the owner (see ref-tracking.ts).
 */
import { registry } from '../serialization/wire-codec';
import { Future } from './future';
import { RemoteChannel } from './remote-channel';
import './channel-ops';

let done = false;

/** Registers the reference types with the codec (idempotent). */
export function registerReferenceTypes(): void {
  if (done) return;
  done = true;
  registry.registerExtension<Future>({ tag: 1, ctor: Future, encode: (f, w, ctx) => Future.toWire(f, w, ctx), decode: (r) => Future.fromWire(r) });
  registry.registerExtension<RemoteChannel>({
    tag: 2,
    ctor: RemoteChannel,
    encode: (c, w, ctx) => RemoteChannel.toWire(c, w, ctx),
    decode: (r) => RemoteChannel.fromWire(r),
  });
}
