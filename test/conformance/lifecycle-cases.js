// The lifecycle cases that need nothing but a FileSystem, shared by
// test/conformance/lifecycle.test.js (MemoryFileSystem, Node/Deno/Bun) and the
// browser worker (OpfsFileSystem in Chromium, test/browser/worker.js), so the
// two cannot drift. Cases that need the crash simulator (injected faults,
// counted handles) stay in lifecycle.test.js.
import * as assert from 'uvu/assert';
import { rejectsCode } from '../support/async-sync.js';

/** `fn()` (sync or async) fails with WalError `code`: rejectsCode over its result. */
export const expectCode = (fn, code, where) => rejectsCode((async () => fn())(), code, where);

/**
 * [name, run(fs, path)] for log `kind` (an entry of lifecycle-logs.js or
 * all-logs.js); each run gets a file system and a path no other case uses.
 */
export function lifecycleCases(kind) {
  return [
    ['close is idempotent and every later call is CLOSED', async (fs, path) => {
      const log = kind.open(fs, path);
      kind.append(log, 1);
      log.close();
      log.close();
      assert.is(log.state, 'closed');
      await expectCode(() => kind.append(log, 2), 'CLOSED', 'append');
      await expectCode(() => kind.sync(log), 'CLOSED', 'sync');
      await expectCode(() => kind.syncAsync(log), 'CLOSED', 'syncAsync');
    }],
    ['a syncAsync() pending at close resolves: close synced its data', async (fs, path) => {
      const log = kind.open(fs, path);
      kind.append(log, 1);
      const pending = kind.syncAsync(log);
      log.close();
      await pending;
      assert.is(kind.read(fs, path).length, 1, 'the record is there after a reopen');
    }],
    ['concurrent syncAsync() callers share syncs and all resolve', async (fs, path) => {
      const log = kind.open(fs, path);
      const waits = [];
      for (let i = 0; i < 32; i++) {
        kind.append(log, i);
        waits.push(kind.syncAsync(log));
      }
      await Promise.all(waits);
      assert.ok(log.groupCommitStats.syncs < 32, `${log.groupCommitStats.syncs} syncs for 32 callers`);
      log.close();
    }],
    ['a second writer is LOCKED until the first closes', async (fs, path) => {
      const log = kind.open(fs, path);
      await expectCode(() => kind.open(fs, path), 'LOCKED', 'second open');
      log.close();
      kind.open(fs, path).close();
    }],
  ];
}
