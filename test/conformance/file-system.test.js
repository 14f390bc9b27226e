// conformance: one suite, run against every FileSystem implementation: the
// current runtime's real adapter and MemoryFileSystem (which therefore
// behaves like a real file system until you crash it).
import { suite } from 'uvu';
import { MemoryFileSystem, defaultFileSystem } from 'walcore';
import { runtime as runtimeName, tempDir } from '../support/helpers.js';
import { FILE_SYSTEM_CASES } from './file-system-cases.js';

const implementations = [
  ['real:' + runtimeName, () => { const fs = defaultFileSystem(); return { fs, root: tempDir('conf') }; }],
  ['memory', () => { const fs = new MemoryFileSystem(); fs.mkdir('/root'); return { fs, root: '/root' }; }],
];

for (const [name, make] of implementations) {
  const t = suite(`FileSystem ${name}`);
  for (const [caseName, run] of FILE_SYSTEM_CASES) t(caseName, () => run(make()));
  t.run();
}
