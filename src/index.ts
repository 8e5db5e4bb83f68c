/**
 * distributed-ts: Julia's `Distributed` and `SharedArrays` for Node.js.
 *
 * ```ts
 * import { addprocs, remotecall_fetch, rmprocs, workers } from 'distributed-ts';
 * await addprocs(2);
 * console.log(await remotecall_fetch(Math.sqrt, 2, 16)); // 4
 * await rmprocs(...workers());
 * ```
 */
import './messages/process-messages';
import './cluster/worker-links';
import './shared/travel';
import { registerPackageExports } from './serialization/functions';
import { registerBuiltinTypes } from './serialization/builtin-types';
import { registerReferenceTypes } from './remote/ref-codec';
import { registerParallelTypes } from './parallel/register';

export { myid, nprocs, nworkers, procs, workers } from './cluster/process-group';
export type { Topology } from './cluster/process-group';
export { addprocs, rmprocs } from './cluster/addprocs';
export type { RmprocsOptions } from './cluster/addprocs';
export { ClusterManager, default_addprocs_params } from './cluster/cluster-manager';
export type { AddprocsOptions } from './cluster/cluster-manager';
export { LocalManager } from './cluster/local-manager';
export { SSHManager } from './cluster/ssh-manager';
export type { SSHOptions } from './cluster/ssh-manager';
export type { MachineSpec } from './cluster/ssh-machines';
export type { WorkerConfig } from './cluster/worker-config';
export type { TransportStreams } from './transport/connection';
export { cluster_cookie } from './cluster/cookie';
export { remotecall, remotecall_fetch, remotecall_wait, remote_do } from './remote/remotecall';
export type { RemoteFunction, Target } from './remote/remotecall';
export { AbstractWorkerPool, WorkerPool, CachingPool, default_worker_pool, remote } from './pools/worker-pool';
export { pmap } from './parallel/pmap';
export type { PmapOptions } from './parallel/pmap';
export { asyncmap } from './parallel/asyncmap';
export type { AsyncmapOptions } from './parallel/asyncmap';
export { distributed, sync, splitrange } from './parallel/distributed';
export type { LoopRange } from './parallel/distributed';
export { range, zip, Range, Zip } from './parallel/range';
export { ExponentialBackOff, retry } from './parallel/backoff';
export type { BackOff, BackOffOptions, RetryOptions } from './parallel/backoff';
export { Future } from './remote/future';
export { Channel } from './remote/channel';
export { RemoteChannel } from './remote/remote-channel';
export type { ChannelFactory, ChannelLike } from './remote/remote-channel';
export { finalize } from './remote/finalize';
export type { Finalizable } from './remote/finalize';
export { remoteref_id, channel_from_id, worker_id_from_socket } from './remote/ref-api';
export type { RRID } from './remote/ref-api';
export { fetch, wait, isready, put, take, close } from './remote/generic';
export { stats } from './remote/stats';
export { clear } from './remote/clear';
export { interrupt } from './remote/interrupt';
export { everywhere } from './macros/everywhere';
export type { EverywhereOptions } from './macros/everywhere';
export { spawnat, spawn, fetchfrom, nextproc } from './macros/spawnat';
export type { Where } from './macros/spawnat';
export type { ProcessStats } from './remote/stats';
export type { IdleSpinStats } from './native';
export { registerType } from './serialization/register-type';
export type { TypeSerializer } from './serialization/register-type';
export { SharedArray, sdata, localindices, indexpids } from './shared/shared-array';
export type { SharedArrayOptions, FromFileOptions, FromArrayOptions } from './shared/shared-array';
export type { ElementType, ElementOf, ElementTypeOf, TypedArrayOf, AnyTypedArray } from './shared/element-types';
export type { FileMode } from './shared/native-shm';
export { start_worker, init_worker, process_messages } from './worker/start-worker';
export type { WorkerOptions } from './worker/start-worker';
export {
  RemoteException,
  CapturedException,
  ProcessExitedException,
  CompositeException,
  InterruptException,
  InvalidStateException,
} from './errors';

import * as self from './index';
registerBuiltinTypes();
registerReferenceTypes();
registerParallelTypes();

// TypeScript's CommonJS output declares each re-export as `exports.x = void 0` and then redefines it as a
// getter, which turns the exports object into a dictionary: every `dts.remotecall(…)` in compiled user
// code (and in shipped functions, which read the package through the same object) would be a generic
// lookup. The package's face is a plain object holding the same values instead (all are constants).
const face: Record<string, unknown> = { ...(self as unknown as Record<string, unknown>) };
Object.defineProperty(face, '__esModule', { value: true });
registerPackageExports(face);
module.exports = face;
