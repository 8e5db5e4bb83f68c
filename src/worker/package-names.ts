/**
 * The names the package exports (index.ts), known without loading it: a worker defines them as globals
 * at start-up and loads the modules behind them on first use (see deferred-package.ts), and the codec
 * recognises `dts.name` as the package before the package is loaded. test/lazy-worker.test.ts checks this
 * list against the package's real exports.
 */
export const PACKAGE_EXPORT_NAMES: readonly string[] = [
  'myid', 'nprocs', 'nworkers', 'procs', 'workers', 'addprocs', 'rmprocs', 'ClusterManager', 'LocalManager', 'SSHManager',
  'cluster_cookie', 'remotecall', 'remotecall_fetch', 'remotecall_wait', 'remote_do', 'AbstractWorkerPool',
  'WorkerPool', 'CachingPool', 'default_worker_pool', 'remote', 'pmap', 'asyncmap', 'distributed', 'sync',
  'splitrange', 'range', 'zip', 'Range', 'Zip', 'ExponentialBackOff', 'retry', 'Future', 'Channel',
  'RemoteChannel', 'finalize', 'remoteref_id', 'channel_from_id', 'worker_id_from_socket', 'wait', 'isready',
  'put', 'take', 'close', 'stats', 'clear', 'interrupt', 'everywhere', 'spawnat', 'spawn', 'fetchfrom',
  'nextproc', 'registerType', 'SharedArray', 'sdata', 'localindices', 'indexpids', 'start_worker',
  'RemoteException', 'CapturedException', 'ProcessExitedException', 'CompositeException', 'InterruptException',
  'InvalidStateException', 'fetch', 'default_addprocs_params', 'init_worker',
  'process_messages',
];
