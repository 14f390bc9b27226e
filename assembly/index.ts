// The walcore core: CRC-32C, framing, the validation scanner and file
// headers. Numeric ABI only (integers, f64 for offsets below 2^53, a staging
// buffer the host copies into, status codes); no I/O, no strings, no
// allocation per call. docs/FORMAT.md §6 describes the ABI.

export * from "./constants";
export { crc32cUpdate } from "./crc32c";
export { descPtr, ensureStaging, stagingCapacity, stagingPtr } from "./memory";
export { encodeBatch, encodeFrame, findWitness, outCount, outEnd, outLastStart, outLastType, outMark, outResume, outSeqHi, outSeqLo, scanFrames } from "./frame";
export { decodeFileHeader, encodeFileHeader, hdrKind, hdrP0, hdrP1, hdrP2, hdrSalt, hdrVersion } from "./header";
export * from "./segment";
export * from "./sealed-block";
export * from "./ring";
export * from "./raft";
export * from "./kv";
export * from "./opfs-table";
export * from "./kv-index";
