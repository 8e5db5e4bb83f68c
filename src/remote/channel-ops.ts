/**
 * The owner's side of RemoteChannel operations (MessageKind.ChannelOp): make the backing channel from
 * the creator's factory, and run put/take/fetch/isready/wait/close on it for any process.
 */
import { peerState } from '../messages/messaging';
import { MessageKind } from '../wire/generated/dts/wire/message-kind';
import { RefOp } from '../wire/generated/dts/wire/ref-op';
import { invoke, onFrame, reply } from '../messages/process-messages';
import { decodeValue } from '../serialization/wire-codec';
import { myid } from '../cluster/process-group';
import { Channel } from './channel';
import { addClient, lookupRef } from './ref-store';
import { answersValue, callChannel, CHANNEL_METHODS, checkChannel } from './remote-channel';

onFrame(MessageKind.ChannelOp, (conn, h, inline, segments) => {
  const { op, refWhence: whence, refId: id, requestId } = h;
  let payload: unknown;
  let decodeError: { error: unknown } | undefined;
  try {
    payload = decodeValue(inline, segments, peerState(conn));
  } catch (e) {
    decodeError = { error: e };
  }
  if (op === RefOp.Create) {
    const rv = lookupRef(whence, id);
    addClient(whence, id, conn.peer, 1);
    if (decodeError !== undefined) return rv.installChannel(undefined, decodeError);
    const factory = payload === undefined ? () => new Channel(1) : payload;
    invoke(factory, [], (made, isError) => {
      if (isError) return rv.installChannel(undefined, { error: made });
      try {
        rv.installChannel(checkChannel(made, myid()));
      } catch (e) {
        rv.installChannel(undefined, { error: e });
      }
    });
    return;
  }
  if (decodeError !== undefined) return reply(conn, requestId, decodeError.error, true);
  const method = CHANNEL_METHODS[op];
  if (method === undefined) return reply(conn, requestId, new Error(`unknown RemoteChannel operation ${op}`), true);
  const args = Array.isArray(payload) ? payload : [];
  const rv = lookupRef(whence, id);
  rv.whenChannel().then(
    (ch) => invoke(() => callChannel(ch, method, args, myid()), [], (value, isError) => reply(conn, requestId, isError || answersValue(op) ? value : undefined, isError)),
    (e: unknown) => reply(conn, requestId, e, true),
  );
});
