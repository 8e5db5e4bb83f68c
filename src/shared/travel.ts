/**
 * How a SharedArray travels (codec extension tag 3): as its segment key alone. The receiver must have
 * the segment mapped already (it is a participant, or the creator), and rebuilds a SharedArray over
 * its own mapping: the same memory, not the same object (SPEC §3a). Sending one to a process that has
 * not mapped it fails at the sender, naming the value's path.
 */
import { PGRP } from '../cluster/process-group';
import { peerState } from '../messages/messaging';
import { registry } from '../serialization/wire-codec';
import { arrayOver, segmentOf, SharedArray } from './shared-array';
import { findSegment } from './segment-table';

/** The process a codec context (a connection's codec state) sends to, or undefined when unknown. */
function destinationOf(context: unknown): number | undefined {
  if (context === undefined || context === null) return undefined;
  for (const [pid, rec] of PGRP.processes) {
    if (rec.connection !== undefined && peerState(rec.connection) === context) return pid;
  }
  return undefined;
}

registry.registerExtension<SharedArray>({
  tag: 3,
  ctor: SharedArray,
  encode(S, w, context) {
    const seg = segmentOf(S);
    if (!seg.alive) throw new Error(`a finalized SharedArray (its memory is no longer mapped on process ${PGRP.id})`);
    const to = destinationOf(context);
    if (to !== undefined && !seg.mappedOn(to)) {
      throw new Error(
        `a SharedArray cannot be sent to process ${to}, which does not map its memory: only its participants ` +
          `(procs(S) = [${seg.info.pids.join(', ')}]) and its creator (process ${seg.info.creator}) can receive it; ` +
          `create it with { pids } including ${to}`,
      );
    }
    w.string(seg.info.key);
  },
  decode(r) {
    const key = r.string();
    const seg = findSegment(key);
    if (seg === undefined) {
      throw new Error(`a SharedArray arrived whose memory is not mapped on process ${PGRP.id} (finalized here, or this process does not participate)`);
    }
    return arrayOver(seg);
  },
});
