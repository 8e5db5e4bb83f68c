/**
 * A piscina thread of `pmap(..., { distributed: false })`: decodes `[f, items, spread, capture]`, runs
 * the batch, and answers with the encoded results (or the error that failed the whole batch).
 */
import { installWorkerGlobals } from '../worker/globals';
import { runBatch, type BatchAnswer } from './batch';
import { decodeOwned, encodeOwned, type EncodedTask } from './threads';

installWorkerGlobals();

export default async function runTask(task: EncodedTask): Promise<EncodedTask> {
  let out: BatchAnswer | { thrown: unknown };
  try {
    const [f, items, spread, capture] = decodeOwned(task) as [(...a: unknown[]) => unknown, unknown[], boolean, boolean];
    out = await runBatch(f, items, spread, capture);
  } catch (e) {
    out = { thrown: e };
  }
  try {
    return encodeOwned(out, 'result');
  } catch (e) {
    return encodeOwned({ thrown: e }, 'error');
  }
}
