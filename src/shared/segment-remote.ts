/**
 * What participants do for a SharedArray's creator: map a new segment, release one. These functions
 * travel by path (`distributed-ts:SharedArray.mapHere`), so every process runs its own copy.
 */
import { PGRP } from '../cluster/process-group';
import { remote_do } from '../remote/remotecall';
import { internally } from '../parallel/sync-scope';
import { registerPackageExports } from '../serialization/functions';
import { elementInfo } from './element-types';
import { fileMap, shmMap } from './native-shm';
import { addSegment, findSegment, releaseKey, Segment, setOwnedCollectedHandler, type SegmentInfo } from './segment-table';

/** Maps the segment `info` describes in this process and records it. Returns the segment. */
export function mapSegment(info: SegmentInfo): Segment {
  const existing = findSegment(info.key);
  if (existing !== undefined) return existing;
  const el = elementInfo(info.type, 'SharedArray');
  let buffer: ArrayBuffer;
  switch (info.source) {
    case 'shm':
      buffer = shmMap(info.name, info.byteLength, info.writable);
      break;
    case 'file':
      buffer = fileMap(info.name, info.writable, info.offset, info.byteLength);
      break;
    case 'empty':
      buffer = new ArrayBuffer(0);
      break;
  }
  const seg = new Segment(info, el, buffer, new el.ctor(buffer));
  addSegment(seg);
  return seg;
}

/** Run on a participant at creation: maps the segment. */
export function mapHere(info: SegmentInfo): true {
  mapSegment(info);
  return true;
}

/** Run on a participant by the creator (finalize, or collection): unmaps the segment here now. */
export function releaseHere(key: string): boolean {
  return releaseKey(key);
}

/**
 * Unmaps the segment on every other process that mapped it and can be reached, without waiting: the
 * release is sent before anything this process sends them afterwards.
 */
export function releaseElsewhere(info: SegmentInfo): void {
  // Housekeeping, not a task of an enclosing sync block (SharedArray.create is one task by itself).
  internally(() => releaseEach(info));
}

function releaseEach(info: SegmentInfo): void {
  for (const p of new Set([info.creator, ...info.pids])) {
    if (p === PGRP.id) continue;
    const conn = PGRP.get(p)?.connection;
    if (conn === undefined || conn.closed) continue;
    try {
      remote_do(releaseHere, p, info.key);
    } catch {
      /* the process is going away: its mapping goes with it */
    }
  }
}

setOwnedCollectedHandler(releaseElsewhere);
registerPackageExports({ 'SharedArray.mapHere': mapHere, 'SharedArray.releaseHere': releaseHere });
