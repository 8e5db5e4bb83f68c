/**
 * The owner's reference counts (src/remote/ref-store.ts), driven directly: a release that overtakes the
 * registration it matches, several references from one process, and a holder that leaves the cluster.
 */
import * as path from 'node:path';
import { ROOT } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const store = require(path.join(ROOT, 'dist', 'src', 'remote', 'ref-store.js')) as typeof import('../src/remote/ref-store');

test('an entry lives while any process holds a reference, and is freed when every count is back to zero', () => {
  const base = store.storedCount();
  const w = 7, id = 1001;
  store.lookupRef(w, id).set('v', false);
  store.addClient(w, id, 1, 1); // the creator
  store.addClient(w, id, 3, -1); // 3's release overtook its registration (sent by 1)
  expect(store.findRef(w, id)?.clients.get(3)).toBe(-1);
  store.addClient(w, id, 1, -1); // 1 released: 3's pending registration keeps the entry
  expect(store.storedCount()).toBe(base + 1);
  store.addClient(w, id, 3, 1); // ... which arrives now: every count is zero
  expect(store.findRef(w, id)).toBeUndefined();
  expect(store.storedCount()).toBe(base);
});

test('several references from one process count separately; dropClient forgets a departed holder', () => {
  const base = store.storedCount();
  store.addClient(8, 1, 2, 2);
  store.addClient(8, 1, 4, 1);
  store.deleteClient(8, 1, 2);
  expect(store.findRef(8, 1)?.clients.get(2)).toBe(1);
  store.dropClient(2);
  expect(store.findRef(8, 1)?.clients.has(2)).toBe(false);
  store.dropClient(4);
  expect(store.storedCount()).toBe(base);
  // an entry left with only a pending registration from a departed sender is freed with it
  store.addClient(8, 2, 5, -1);
  store.addClient(8, 2, 6, 1);
  store.dropClient(6);
  expect(store.findRef(8, 2)).toBeUndefined();
  expect(store.refKey(3, 5)).not.toBe(store.refKey(5, 3));
});
