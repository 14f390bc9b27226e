// conformance: every log, on the runtime's real file system, opened by
// another name for the same file or directory: a symlink to it, a path
// through a symlinked parent directory, "parent/./name". While one writer
// holds the log, every other name is LOCKED (a second writer through a
// symlink is how a log was once corrupted); once it closes, the log opens by
// any of them and the records written by one name are read by another.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { WalError } from 'walcore';
import { tempDir } from '../support/helpers.js';
import { LOGS } from './all-logs.js';

const base = tempDir('aliases');
let n = 0;

for (const log of LOGS) {
  test(`${log.name}: a symlink, a symlinked parent and "./" name the same log: LOCKED while it is held, the same records after`, () => {
    const dir = `${base}/${n++}`;
    fs.mkdirSync(`${dir}/real`, { recursive: true });
    fs.symlinkSync(`${dir}/real`, `${dir}/parent-link`);
    const path = `${dir}/real/log`;
    const first = log.open(undefined, path);
    log.append(first, 1);
    log.sync(first);
    fs.symlinkSync(path, `${dir}/real/link`); // the log exists now: a file or a directory
    const aliases = [`${dir}/real/link`, `${dir}/parent-link/log`, `${dir}/real/./log`, `${dir}/parent-link/link`];
    for (const alias of aliases) {
      try {
        log.open(undefined, alias).close();
        assert.unreachable(`${alias} opened while ${path} is held`);
      } catch (e) {
        assert.instance(e, WalError, `${alias}: ${e}`);
        assert.is(e.code, 'LOCKED', `${alias}: ${e.message}`);
      }
    }
    first.close();
    let i = 1;
    for (const alias of aliases) {
      const again = log.open(undefined, alias);
      log.append(again, ++i);
      log.sync(again);
      again.close();
    }
    const viaPath = log.read(undefined, path);
    const appended = Array.from({ length: 1 + aliases.length }, (_, k) => log.record(k + 1));
    assert.equal(viaPath, log.readOrder ? log.readOrder(appended) : appended, 'every record, whichever name wrote it');
    assert.equal(log.read(undefined, `${dir}/parent-link/link`), viaPath);
    assert.equal(fs.readdirSync(`${dir}/real`).filter((e) => !e.startsWith('log')).sort(), ['link'], 'no lock or temp file left beside the log under another name');
  });
}

test.run();
