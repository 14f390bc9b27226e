// Format constants and status codes: the one home for every number that
// defines walcore's on-disk bytes. docs/FORMAT.md defines each of them; the
// section named beside a constant is where. The host reads these exports at
// load time and refuses a core whose FORMAT_VERSION it does not know.

/** FORMAT.md §1 Conventions: the version of every structure below. */
export const FORMAT_VERSION: u32 = 1;

// ---- FORMAT.md §2 File header (64 bytes, every walcore file starts with one)
/** ASCII "wlcr" read as a little-endian u32. */
export const FILE_MAGIC: u32 = 0x72636c77;
export const FILE_HEADER_SIZE: u32 = 64;
/** Byte offsets inside the file header. */
export const FH_MAGIC: u32 = 0;
export const FH_VERSION: u32 = 4; // u16
export const FH_KIND: u32 = 6; // u16
export const FH_SALT: u32 = 8; // u32
export const FH_FLAGS: u32 = 12; // u32, must be 0 in version 1
export const FH_P0: u32 = 16; // u64, kind-specific
export const FH_P1: u32 = 24; // u64, kind-specific
export const FH_P2: u32 = 32; // u64, kind-specific
export const FH_CRC: u32 = 60; // u32, CRC-32C of bytes [0, 60)

/** File kinds (FORMAT.md §2). */
export const KIND_WAL_FILE: u32 = 1; // WalFsWriter single-file WAL
export const KIND_SEGMENT: u32 = 2; // SegmentedWal segment
export const KIND_RING: u32 = 3; // RingLog ring file
export const KIND_RAFT_SEGMENT: u32 = 4; // WalLog (Raft log) segment, FORMAT.md §11
export const KIND_RAFT_SNAPSHOT: u32 = 5; // WalLog snapshot file, FORMAT.md §11
export const KIND_KV_SNAPSHOT: u32 = 6; // AppendLogSnapshot key-value snapshot log, FORMAT.md §12

// ---- FORMAT.md §3 Frame (32-byte header + payload)
export const FRAME_HEADER_SIZE: u32 = 32;
export const FRAME_MAGIC: u32 = 0xf7;
export const F_CRC: u32 = 0; // u32, CRC-32C of bytes [4, 32 + len)
export const F_LEN: u32 = 4; // u32, payload length
export const F_MAGIC: u32 = 8; // u8
export const F_VERSION: u32 = 9; // u8
export const F_TYPE: u32 = 10; // u8
export const F_FLAGS: u32 = 11; // u8
export const F_SALT: u32 = 12; // u32, the file's salt
export const F_SEQ: u32 = 16; // u64, sequence / LSN (0 for control frames)
export const F_MARK: u32 = 24; // u64, durable watermark when written
/** Largest payload a frame may declare; checked before anything is read or allocated. */
export const MAX_FRAME_PAYLOAD: u32 = 64 << 20;

/** Frame types (FORMAT.md §3). 1..127 are sequenced data frames, 128..255 control frames. */
export const TYPE_EVENT: u32 = 1; // WalFsWriter event
export const TYPE_RECORD: u32 = 2; // SegmentedWal record
export const TYPE_CONTROL_MIN: u32 = 0x80;
export const TYPE_SYNC_MARK: u32 = 0x80; // "everything before me was durable"
/** WalLog (FORMAT.md §11): a Raft entry (seq = its index, payload = 16-byte sub-header + body). */
export const TYPE_RAFT_ENTRY: u32 = 0x10;
/** WalLog snapshot file: the snapshot's data (seq = snapshot index). */
export const TYPE_RAFT_SNAPSHOT_DATA: u32 = 0x11;
/** WalLog control frames (seq 0, 32-byte payload a, b, c, flags; FORMAT.md §11). */
export const TYPE_RAFT_TRUNCATE: u32 = 0x90; // a = from: entries >= from are removed
export const TYPE_RAFT_HARD_STATE: u32 = 0x91; // a = term, b = vote, c = commit, flags bit 0 = has vote
export const TYPE_RAFT_SNAPSHOT: u32 = 0x92; // a = index, b = term, c = last index after: the log was compacted to this snapshot
export const TYPE_RAFT_FOOTER: u32 = 0x93; // index footer of a sealed segment: op records
export const TYPE_RAFT_LOCATOR: u32 = 0x94; // last frame of a sealed segment: a = footer offset, b = op count
/** AppendLogSnapshot (FORMAT.md §12): one batch of puts/deletes and the resume cursor (seq = frame number in the file). */
export const TYPE_KV_BATCH: u32 = 0x12;
/** Frame flag of a KV batch frame: more frames of the same batch follow (a batch is all or nothing on recovery). */
export const KV_FLAG_MORE: u32 = 1;
/** Frame flag of WalLog entry/control frames: more frames of the same write follow (a write is all or nothing on recovery). */
export const RAFT_FLAG_MORE: u32 = 1;

// ---- Scanner flags
/** Write one 32-byte descriptor per valid frame into the descriptor region. */
export const SCAN_EMIT: u32 = 1;
/** Data frames' sequence numbers must strictly increase. */
export const SCAN_SEQ_STRICT: u32 = 2;
/** Data frames' sequence numbers must be exactly previous + 1 (LSNs). */
export const SCAN_SEQ_NEXT: u32 = 4;
/** Watermarks must not decrease and must not exceed the frame's own offset. */
export const SCAN_MARK: u32 = 8;
/**
 * The frame before the buffer was a sync marker (the host carries this across
 * calls). A sync marker ends the valid prefix (FORMAT.md §4): any frame after
 * it is invalid with ERR_AFTER_SYNC_MARK, so a marker can never stand in for a
 * lost frame of the same size.
 */
export const SCAN_AFTER_MARK: u32 = 16;

// ---- Descriptor region: 32-byte entries, see FORMAT.md §6 (core ABI)
export const DESC_SIZE: u32 = 32;
export const DESC_CAPACITY: u32 = 4096;
export const D_OFFSET: u32 = 0; // u32 frame start, relative to the scanned buffer
export const D_LEN: u32 = 4; // u32 payload length
export const D_SEQ_LO: u32 = 8;
export const D_SEQ_HI: u32 = 12;
export const D_TYPE: u32 = 16; // u8 type | u8 flags << 8
export const D_MARK: u32 = 24; // f64 watermark

// ---- Status codes: one shared enum; >= 0 success, < 0 the reason a frame failed
export const OK: i32 = 0;
export const MORE: i32 = 1; // scanner stopped at maxCount; call again from outEnd
export const ERR_INCOMPLETE_HEADER: i32 = -1;
export const ERR_INCOMPLETE_PAYLOAD: i32 = -2;
export const ERR_BAD_MAGIC: i32 = -3;
export const ERR_UNSUPPORTED_VERSION: i32 = -4;
export const ERR_CRC_MISMATCH: i32 = -5;
export const ERR_LENGTH_OVER_BOUND: i32 = -6;
export const ERR_SALT_MISMATCH: i32 = -7;
export const ERR_SEQUENCE: i32 = -8;
export const ERR_BAD_WATERMARK: i32 = -9;
export const ERR_BAD_TYPE: i32 = -10;
export const ERR_HEADER_CRC: i32 = -11;
export const ERR_WRONG_KIND: i32 = -12;
export const ERR_BAD_FLAGS: i32 = -13;
/** A frame whose segment-record sub-header breaks a rule of FORMAT.md §S3 (its CRC was valid). */
export const ERR_BAD_RECORD: i32 = -14;
/** A frame follows a sync marker, which must end the valid prefix (FORMAT.md §4). */
export const ERR_AFTER_SYNC_MARK: i32 = -15;
export const ERR_NO_MEMORY: i32 = -20;
export const ERR_ARGUMENT: i32 = -21;
