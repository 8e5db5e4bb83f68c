/**
 * The memory segments this process has mapped for SharedArrays, by key. A SharedArray travels as its
 * key alone (src/shared/travel.ts): the receiver finds its own mapping here, which is why only processes
 * that mapped the segment when it was created (its participants and its creator) can receive it.
 *
 * Segments this process created are held weakly (the SharedArrays over them keep them alive; when all
 * are collected the other participants are told to drop theirs); segments mapped for another creator
 * are held until it says so (finalize, or its own collection) or goes away.
 */
import { PGRP } from '../cluster/process-group';
import { unmap } from './native-shm';
import type { AnyTypedArray, ElementInfo, ElementType } from './element-types';

/** Where a segment's memory lives. */
export type SegmentSource = 'shm' | 'file' | 'empty';

/** What a participant needs to map a segment (sent once, at creation). */
export interface SegmentInfo {
  /** Unique name of this segment in the cluster. */
  readonly key: string;
  readonly source: SegmentSource;
  /** The shm name ('/dts-…') or the file's absolute path ('' when empty). */
  readonly name: string;
  /** Byte offset in the file (0 for shm). */
  readonly offset: number;
  readonly byteLength: number;
  readonly writable: boolean;
  readonly type: ElementType;
  readonly dims: readonly number[];
  /** The participating processes (`procs(S)`). */
  readonly pids: readonly number[];
  /** The process that created it (it maps it too, participating or not). */
  readonly creator: number;
}

/** One segment mapped in this process. */
export class Segment {
  /** False once unmapped here (finalize, or the creator's release): SharedArrays over it then fail. */
  alive = true;
  /** The SharedArray object over this segment in this process (one per process), once made. */
  view: { invalidate(): void } | undefined = undefined;

  constructor(
    readonly info: SegmentInfo,
    readonly element: ElementInfo,
    readonly buffer: ArrayBuffer,
    /** The typed array over the whole segment (`sdata`). */
    readonly data: AnyTypedArray,
  ) {}

  /** Whether process `pid` has this segment mapped (so it can receive SharedArrays over it). */
  mappedOn(pid: number): boolean {
    return pid === this.info.creator || this.info.pids.includes(pid);
  }
}

const held = new Map<string, Segment>();
const owned = new Map<string, WeakRef<Segment>>();

/** Called with the info of an owned segment once every SharedArray over it here was collected. */
let onOwnedCollected: (info: SegmentInfo) => void = () => {};
const collected = new FinalizationRegistry<SegmentInfo>((info) => {
  const ref = owned.get(info.key);
  if (ref !== undefined && ref.deref() === undefined) owned.delete(info.key);
  onOwnedCollected(info);
});

/** Sets what happens when an owned segment is collected (the lifetime module tells the participants). */
export function setOwnedCollectedHandler(h: (info: SegmentInfo) => void): void {
  onOwnedCollected = h;
}

/** Records a segment mapped here: weakly if this process created it, strongly otherwise. */
export function addSegment(seg: Segment): void {
  const key = seg.info.key;
  if (seg.info.creator === PGRP.id) {
    owned.set(key, new WeakRef(seg));
    collected.register(seg, seg.info, seg);
  } else {
    held.set(key, seg);
  }
}

/** The live segment with this key mapped here, or undefined. */
export function findSegment(key: string): Segment | undefined {
  const s = held.get(key) ?? owned.get(key)?.deref();
  return s !== undefined && s.alive ? s : undefined;
}

/** Unmaps a segment here now (idempotent). Its SharedArrays then fail clearly; its typed arrays read as empty. */
export function releaseSegment(seg: Segment): void {
  if (!seg.alive) return;
  seg.alive = false;
  held.delete(seg.info.key);
  if (owned.get(seg.info.key)?.deref() === seg) {
    owned.delete(seg.info.key);
    collected.unregister(seg);
  }
  seg.view?.invalidate();
  if (seg.info.source !== 'empty') unmap(seg.buffer);
}

/** Unmaps the segment with this key here, if mapped. Returns whether it was. */
export function releaseKey(key: string): boolean {
  const s = held.get(key) ?? owned.get(key)?.deref();
  if (s === undefined || !s.alive) return false;
  releaseSegment(s);
  return true;
}

/** Segments mapped here, live (for diagnostics and tests). */
export function liveSegmentKeys(): string[] {
  const keys = [...held.keys()];
  for (const [k, r] of owned) if (r.deref()?.alive) keys.push(k);
  return keys.sort();
}

// A creator that leaves the cluster can no longer release what it created: drop its segments here.
PGRP.onGone.push((id) => {
  for (const seg of [...held.values()]) if (seg.info.creator === id) releaseSegment(seg);
});
