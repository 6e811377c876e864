/**
 * A first-fit allocator over a range of WebAssembly linear memory, kept in JavaScript: the kernel
 * module has no allocator of its own (it is built without the AssemblyScript runtime), and the
 * JavaScript side decides where every operand lives.
 *
 * Blocks are 16-byte aligned. Free blocks are kept sorted by address and merged with their
 * neighbours; a request that fits no free block extends the used range at its end (the caller
 * grows the memory). It holds packed weights (never freed) and the activations of a run (freed
 * after their last reader); each kernel call's scratch is stacked past `end` by Int8Wasm.arena.
 */

export class Allocator {
  /** Free blocks [start, start + size), sorted by start, never adjacent (they are merged). */
  private readonly free: { start: number; size: number }[] = [];
  private readonly sizes = new Map<number, number>();
  /** End of the used range: everything from here on is free. */
  end: number;

  constructor(start: number) {
    this.end = align16(start);
  }

  alloc(bytes: number): number {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new Error(`cannot allocate ${bytes} bytes`);
    const size = align16(Math.max(16, bytes));
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i]!;
      if (block.size < size) continue;
      const at = block.start;
      if (block.size === size) this.free.splice(i, 1);
      else { block.start += size; block.size -= size; }
      this.sizes.set(at, size);
      return at;
    }
    // Extend the used range, first absorbing a free block that ends at the end.
    let at = this.end;
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.size === this.end) {
      at = last.start;
      this.free.pop();
    }
    this.end = at + size;
    this.sizes.set(at, size);
    return at;
  }

  release(at: number): void {
    const size = this.sizes.get(at);
    if (size === undefined) throw new Error(`allocator: ${at} is not an allocated block`);
    this.sizes.delete(at);
    if (at + size === this.end) {
      // The last block (the usual case: a call's scratch, a step's output): the used range
      // shrinks, and takes back a free block that now ends at its end.
      this.end = at;
      const tail = this.free[this.free.length - 1];
      if (tail && tail.start + tail.size === this.end) {
        this.end = tail.start;
        this.free.pop();
      }
      return;
    }
    // Insert sorted, then merge with the neighbours.
    let i = 0;
    while (i < this.free.length && this.free[i]!.start < at) i++;
    this.free.splice(i, 0, { start: at, size });
    const next = this.free[i + 1];
    if (next && at + size === next.start) {
      this.free[i]!.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === at) {
      prev.size += this.free[i]!.size;
      this.free.splice(i, 1);
    }
    // A free block at the end shrinks the used range.
    const tail = this.free[this.free.length - 1];
    if (tail && tail.start + tail.size === this.end) {
      this.end = tail.start;
      this.free.pop();
    }
  }

  /** Bytes in allocated blocks (for tests and diagnostics). */
  get allocatedBytes(): number {
    let s = 0;
    for (const v of this.sizes.values()) s += v;
    return s;
  }

  sizeOf(at: number): number | undefined {
    return this.sizes.get(at);
  }
}

export function align16(n: number): number {
  return Math.ceil(n / 16) * 16;
}
