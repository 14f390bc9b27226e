// MemoryRaftLog: the reference RaftLog passes the conformance suite.
import { test } from 'uvu';
import { MemoryRaftLog } from 'walcore';
import { runRaftLogSuite } from './suite.js';

runRaftLogSuite(test, 'MemoryRaftLog', () => ({ log: new MemoryRaftLog() }));

test.run();
