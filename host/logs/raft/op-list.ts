/**
 * The ops of the active segment, in file order, unpacked as RAFT_OP_F64S
 * numbers each ([op | flags << 8, offset, a, b, c], the layout the core's
 * encodeRaftOps/decodeRaftOps use): what its index footer will hold when it
 * is sealed (docs/FORMAT.md §11.5).
 */
export const OP_F64S = 5;

export class OpList {
  data = new Float64Array(OP_F64S * 256);
  count = 0;

  push(op: number, flags: number, offset: number, a: number, b: number, c: number): void {
    if ((this.count + 1) * OP_F64S > this.data.length) {
      const d = new Float64Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    const i = this.count * OP_F64S;
    this.data[i] = op + flags * 256;
    this.data[i + 1] = offset;
    this.data[i + 2] = a;
    this.data[i + 3] = b;
    this.data[i + 4] = c;
    this.count++;
  }

  reset(): void {
    this.count = 0;
    if (this.data.length > OP_F64S * 65536) this.data = new Float64Array(OP_F64S * 256);
  }
}
