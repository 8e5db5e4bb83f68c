/** Bare-Node baselines for the library's benchmarks (SPEC §6). Each is async, side-effect free, and cleans up. */
export { pingPong, PingPongOptions, PingPongResult, PingPongStats, PingPongVariant } from './ping-pong';
export { bulkTransfer, memcpyMBps, BulkTransferOptions, BulkTransferResult } from './bulk-transfer';
export { spawnNodes, SpawnNodesResult } from './spawn-nodes';
export { v8SerializeRoundTrip, sampleObjectGraph, V8SerializeResult } from './v8-serialize';
export { twoProcessCapacity, TwoProcessCapacityResult } from './cpu-capacity';
export type { Transport, Address } from './protocol';
export { fanOut, FanOut, FanOutOptions } from './fan-out';
