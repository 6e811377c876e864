// Byte-table kernels (src/kernels/int8/tables.ts explains the tables): the binary ops of two 8-bit
// tensors as one load from a 65 536-entry table per element, for an element range [start, end)
// so that threads can split the work.

/** out[i] = table[a[i] << 8 | b[i]]. */
export function binaryTableSame(a: usize, b: usize, out: usize, table: usize, start: i32, end: i32): void {
  for (let i = start; i < end; i++) {
    const at = <usize>i;
    store<u8>(out + at, load<u8>(table + ((<usize>load<u8>(a + at) << 8) | <usize>load<u8>(b + at))));
  }
}

/**
 * One operand is broadcast in blocks: its element for output i is small[floor(i / inner) mod period]
 * (a scalar is period 1, inner = n). `bigIsA` says which side of the table the full operand is.
 */
export function binaryTableBlocks(
  big: usize, small: usize, bigIsA: i32, period: i32, inner: i32, out: usize, table: usize, start: i32, end: i32,
): void {
  let i = start;
  while (i < end) {
    const block = i / inner;
    const stop = min(end, (block + 1) * inner);
    const s = <usize>load<u8>(small + <usize>(block % period));
    if (bigIsA != 0) {
      for (; i < stop; i++) store<u8>(out + <usize>i, load<u8>(table + ((<usize>load<u8>(big + <usize>i) << 8) | s)));
    } else {
      const row = table + (s << 8);
      for (; i < stop; i++) store<u8>(out + <usize>i, load<u8>(row + <usize>load<u8>(big + <usize>i)));
    }
  }
}

/** dst[i] = table[src[i]] (a requantization or activation table), or a plain copy when table = 0. */
export function mapBytes(src: usize, dst: usize, n: i32, table: usize): void {
  if (table == 0) {
    memory.copy(dst, src, <usize>n);
    return;
  }
  for (let i = 0; i < n; i++) store<u8>(dst + <usize>i, load<u8>(table + <usize>load<u8>(src + <usize>i)));
}

/**
 * Nearest-neighbour resizing of the last two axes over `planes` planes: out[p, oy, ox] =
 * map(src[p, rows[oy], cols[ox]]) with i32 index tables; a source row repeated by the next output
 * row is copied from the row just written.
 */
export function resizeNearest(
  src: usize, planes: i32, inH: i32, inW: i32, rows: usize, cols: usize, outH: i32, outW: i32, table: usize, dst: usize,
): void {
  let o = dst;
  for (let p = 0; p < planes; p++) {
    const base = src + <usize>(p * inH * inW);
    let lastRow = -1;
    for (let oy = 0; oy < outH; oy++) {
      const iy = load<i32>(rows + (<usize>oy << 2));
      if (iy == lastRow) {
        memory.copy(o, o - <usize>outW, <usize>outW);
      } else {
        const row = base + <usize>(iy * inW);
        if (table == 0) {
          for (let ox = 0; ox < outW; ox++) store<u8>(o + <usize>ox, load<u8>(row + <usize>load<i32>(cols + (<usize>ox << 2))));
        } else {
          for (let ox = 0; ox < outW; ox++) {
            store<u8>(o + <usize>ox, load<u8>(table + <usize>load<u8>(row + <usize>load<i32>(cols + (<usize>ox << 2)))));
          }
        }
        lastRow = iy;
      }
      o += <usize>outW;
    }
  }
}

/** sums[p] = Σ of the `size` 8-bit values of plane p (int8 or uint8), for planes [p0, p1). */
export function planeSums(src: usize, size: i32, signed: i32, p0: i32, p1: i32, sums: usize): void {
  for (let p = p0; p < p1; p++) {
    const base = src + <usize>(p * size);
    let acc = i32x4.splat(0);
    let i = 0;
    // 16 bytes → two i16x8 → pairwise-added into i32x4 (exact: |sum of 16| ≤ 4080).
    for (; i + 16 <= size; i += 16) {
      const v = v128.load(base + <usize>i);
      const s16 = signed != 0
        ? i16x8.add(i16x8.extend_low_i8x16_s(v), i16x8.extend_high_i8x16_s(v))
        : i16x8.add(i16x8.extend_low_i8x16_u(v), i16x8.extend_high_i8x16_u(v));
      acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(s16));
    }
    let total = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
    for (; i < size; i++) total += signed != 0 ? <i32>load<i8>(base + <usize>i) : <i32>load<u8>(base + <usize>i);
    store<i32>(sums + (<usize>p << 2), total);
  }
}

/** dst[j·rows + i] = src[i·cols + j]: a byte matrix transposed in 8 × 8 blocks (cache friendly). */
export function transposeBytes(src: usize, rows: i32, cols: i32, dst: usize): void {
  for (let i0 = 0; i0 < rows; i0 += 8) {
    const i1 = min(rows, i0 + 8);
    for (let j0 = 0; j0 < cols; j0 += 8) {
      const j1 = min(cols, j0 + 8);
      for (let i = i0; i < i1; i++) {
        const s = src + <usize>(i * cols);
        for (let j = j0; j < j1; j++) store<u8>(dst + <usize>(j * rows + i), load<u8>(s + <usize>j));
      }
    }
  }
}
