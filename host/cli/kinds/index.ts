/**
 * Every log kind the CLI knows, in detection order. Adding a kind: write
 * host/cli/kinds/<kind>.ts implementing LogKind (host/cli/kind.ts) and add
 * it here.
 */
import type { LogKind } from '../kind.js';
import { walFileKind } from './wal-file.js';
import { segmentedKind } from './segmented.js';
import { ringKind } from './ring.js';
import { raftKind } from './raft.js';
import { kvKind } from './kv.js';

export const KINDS: readonly LogKind[] = [walFileKind, segmentedKind, ringKind, raftKind, kvKind];
