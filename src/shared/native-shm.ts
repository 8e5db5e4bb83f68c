/**
 * Typed wrappers of the addon's shared-memory entry points (native/shm_segment.cc, file_mapping.cc,
 * mapping.cc): POSIX shared-memory segments and mapped files, each mapping an external ArrayBuffer
 * that is unmapped when collected, or at once by {@link unmap}.
 */
import { rawAddon } from '../native';

/** How a file is opened for mapping (Julia's modes). */
export type FileMode = 'r' | 'r+' | 'w+' | 'a+';

/** The error a segment creation rejects with when `/dev/shm` lacks the space. */
export interface ShmSpaceError extends Error {
  code: 'ENOSPC';
  /** Bytes the segment needs. */
  needed: number;
  /** Bytes `/dev/shm` had free. */
  available: number;
}

interface ShmAddon {
  shmCreate(name: string, size: number): Promise<void>;
  shmMap(name: string, size: number, writable: boolean): ArrayBuffer;
  shmUnlink(name: string): boolean;
  filePrepare(path: string, mode: FileMode, offset: number, size: number): Promise<number>;
  fileMap(path: string, writable: boolean, offset: number, size: number): ArrayBuffer;
  unmap(buffer: ArrayBuffer): boolean;
  mappingCount(): number;
}

const addon = rawAddon as ShmAddon;

/**
 * Creates the shared-memory segment `name` (`'/'` then letters, digits, `.`, `_`, `-`; it must not exist)
 * of `size` bytes with its memory reserved up front (`posix_fallocate`), off the event loop. Rejects
 * with a {@link ShmSpaceError} (`code: 'ENOSPC'`, `needed`, `available`) when `/dev/shm` is too small;
 * no segment is then left behind.
 *
 * ```ts
 * await shmCreate('/dts-demo', 1 << 20);
 * ```
 */
export function shmCreate(name: string, size: number): Promise<void> {
  return addon.shmCreate(name, size);
}

/**
 * Maps the first `size` bytes of segment `name` (`MAP_SHARED`). A read-only mapping (`writable`
 * false) is private copy-on-write: stray writes stay in this process and never fault.
 *
 * ```ts
 * const f = new Float64Array(shmMap('/dts-demo', 1 << 20, true));
 * ```
 */
export function shmMap(name: string, size: number, writable: boolean): ArrayBuffer {
  return addon.shmMap(name, size, writable);
}

/**
 * Removes the name of segment `name`; mappings stay valid and the memory is freed when the last is
 * unmapped. Returns false when no segment has that name.
 *
 * ```ts
 * shmUnlink('/dts-demo') // true
 * ```
 */
export function shmUnlink(name: string): boolean {
  return addon.shmUnlink(name);
}

/**
 * Readies `path` for mapping bytes `[offset, offset + size)` with `mode` ('r' the file must hold them;
 * 'r+' it must exist; 'w+' create or truncate; 'a+' create if missing), growing a short file with its
 * blocks reserved. Off the event loop; resolves with the file's size.
 *
 * ```ts
 * await filePrepare('/tmp/a.bin', 'w+', 0, 800);
 * ```
 */
export function filePrepare(path: string, mode: FileMode, offset: number, size: number): Promise<number> {
  return addon.filePrepare(path, mode, offset, size);
}

/**
 * Maps bytes `[offset, offset + size)` of `path` (any offset: the mapping starts at the page boundary
 * below it). Writable mappings are shared with the file; read-only ones are private copy-on-write.
 *
 * ```ts
 * const a = new Float64Array(fileMap('/tmp/a.bin', true, 0, 800));
 * ```
 */
export function fileMap(path: string, writable: boolean, offset: number, size: number): ArrayBuffer {
  return addon.fileMap(path, writable, offset, size);
}

/**
 * Unmaps a mapping now: detaches `buffer` first (its typed arrays then have length 0), so nothing can
 * touch the memory afterwards. Returns false when `buffer` is not a live mapping.
 *
 * ```ts
 * unmap(buffer) // true; a second call: false
 * ```
 */
export function unmap(buffer: ArrayBuffer): boolean {
  return addon.unmap(buffer);
}

/**
 * How many mappings this process holds (made and not yet unmapped or collected).
 *
 * ```ts
 * mappingCount() // 0
 * ```
 */
export function mappingCount(): number {
  return addon.mappingCount();
}
