//! The register-blocked product `C = A·B` or `C += A·B`, on flat row-major
//! slices of run-time sizes.
//!
//! For each slice of the shared dimension it copies the right operand's
//! columns into contiguous panels and a few rows of the left operand into
//! a small panel, then keeps a block of [`BLOCK_ROWS`] × `NR` outputs in
//! registers while it runs down the slice, reading both panels as
//! streams. The block's shape is the only thing fixed at compile time;
//! [`Float::blocked_product`] instantiates it for `f32` and `f64`, in
//! this crate.
//!
//! Its functions are `#[inline(always)]` so that they are compiled into
//! the AVX2 and FMA copy too: a function compiled for the baseline CPU
//! would not use them.
#![allow(clippy::inline_always)]

use super::Shape;
use crate::Float;
use crate::kernels::Store;
use crate::kernels::wide::{self, Kernel};

/// Rows of the output kept in registers: 6 × 16 `f32` is 12 AVX registers
/// of sums, leaving room for two rows of the right operand and a broadcast
/// value (6 × 8 and 12 SSE registers without AVX).
const BLOCK_ROWS: usize = 6;

/// Length of the slices of the shared dimension the kernel runs down: a
/// 4-row panel of the left operand (2 KiB in `f32`) and the rows of the
/// right operand it meets stay in cache.
const PANEL_DEPTH: usize = 128;

/// The depth of the slices for products no deeper than it: small layers'
/// products, whose buffers are zeroed on every call.
const SHALLOW_DEPTH: usize = 32;

/// Column blocks of the right operand packed at a time: 64 KiB on the
/// stack with AVX (`PANEL_DEPTH` × 16 `f32` each), the 128 columns of W3's
/// and W4's products in one group.
const PACKED_BLOCKS: usize = 8;

/// The left operand `A` of `C = A·B`, read a panel at a time.
pub(super) trait Left<T> {
    /// `panel[k - k0] = [A[i][k], A[i + 1][k], …]` for `R` rows from `i`.
    fn pack<const R: usize>(&self, i: usize, k0: usize, panel: &mut [[T; R]]);
}

/// `A` as it is stored: `rows × inner`, row-major.
pub(super) struct RowMajor<'a, T> {
    pub(super) a: &'a [T],
    pub(super) inner: usize,
}

/// `A = Hᵀ` for an `H` stored `inner × rows`, row-major.
pub(super) struct Transposed<'a, T> {
    pub(super) h: &'a [T],
    pub(super) rows: usize,
}

impl<T: Float> Left<T> for RowMajor<'_, T> {
    #[inline(always)]
    fn pack<const R: usize>(&self, i: usize, k0: usize, panel: &mut [[T; R]]) {
        for r in 0..R {
            let start = (i + r) * self.inner;
            let row = &self.a[start + k0..start + self.inner];
            for (entry, &value) in panel.iter_mut().zip(row) {
                entry[r] = value;
            }
        }
    }
}

impl<T: Float> Left<T> for Transposed<'_, T> {
    #[inline(always)]
    fn pack<const R: usize>(&self, i: usize, k0: usize, panel: &mut [[T; R]]) {
        for (k, entry) in (k0..).zip(panel.iter_mut()) {
            let start = k * self.rows + i;
            entry.copy_from_slice(&self.h[start..start + R]);
        }
    }
}

/// `C = A·B` or `C += A·B` as `store` says, for the shapes of `shape`: in
/// blocks of `NR` columns (`HALF` for half a block) on the baseline CPU,
/// `WIDE_NR` and `WIDE_HALF` in the AVX2 and FMA copy.
pub(super) fn product<
    T: Float,
    L: Left<T>,
    const NR: usize,
    const HALF: usize,
    const WIDE_NR: usize,
    const WIDE_HALF: usize,
>(
    a: &L,
    b: &[T],
    c: &mut [T],
    shape: Shape,
    store: Store,
) {
    if shape.rows == 0 || shape.cols == 0 {
        return;
    }
    if shape.inner == 0 {
        if store == Store::Overwrite {
            c.fill(T::ZERO);
        }
        return;
    }
    wide::run(Product::<'_, '_, T, L, NR, HALF, WIDE_NR, WIDE_HALF> {
        a,
        b,
        c,
        shape,
        store,
    });
}

/// The arguments of [`product`], run by [`wide::run`]: with blocks of `NR`
/// columns on the baseline CPU, `WIDE_NR` in the AVX2 and FMA copy.
struct Product<
    'a,
    'c,
    T,
    L,
    const NR: usize,
    const HALF: usize,
    const WIDE_NR: usize,
    const WIDE_HALF: usize,
> {
    a: &'a L,
    b: &'a [T],
    c: &'c mut [T],
    shape: Shape,
    store: Store,
}

impl<
    T: Float,
    L: Left<T>,
    const NR: usize,
    const HALF: usize,
    const WIDE_NR: usize,
    const WIDE_HALF: usize,
> Kernel for Product<'_, '_, T, L, NR, HALF, WIDE_NR, WIDE_HALF>
{
    type Output = ();

    #[inline(always)]
    fn run<const WIDE: bool>(self) {
        let Self {
            a,
            b,
            c,
            shape,
            store,
        } = self;
        if WIDE {
            rows::<T, L, WIDE_NR, WIDE_HALF, true>(a, b, c, shape, store);
        } else {
            rows::<T, L, NR, HALF, false>(a, b, c, shape, store);
        }
    }
}

/// Every row of `C`: blocks of [`BLOCK_ROWS`], then smaller ones.
///
/// The depth slices run outermost. In each, the columns of `B` that
/// fill whole register blocks are first copied, up to
/// [`PACKED_BLOCKS`] blocks at a time, into contiguous panels on the
/// stack (`PANEL_DEPTH × NR` each, 8 KiB for `f32` with AVX), as GEMM
/// libraries do: the kernel then reads `B` as one stream instead of
/// short pieces of rows a whole row apart, which share a few cache
/// sets and evict each other. Every block of rows of `C` then meets the
/// packed panels while they are in cache.
#[inline(always)]
pub(super) fn rows<T: Float, L: Left<T>, const NR: usize, const HALF: usize, const FMA: bool>(
    a: &L,
    b: &[T],
    c: &mut [T],
    shape: Shape,
    store: Store,
) {
    // Buffers no deeper than the product needs, since they are zeroed on
    // every call: a small layer's product would spend more time clearing
    // 128-deep panels than multiplying.
    if shape.inner <= SHALLOW_DEPTH {
        rows_of_depth::<T, L, NR, HALF, FMA, SHALLOW_DEPTH>(a, b, c, shape, store);
    } else {
        rows_of_depth::<T, L, NR, HALF, FMA, PANEL_DEPTH>(a, b, c, shape, store);
    }
}

/// [`rows`] in depth slices of `D`, with a buffer of packed blocks no
/// wider than the product needs.
#[inline(always)]
fn rows_of_depth<
    T: Float,
    L: Left<T>,
    const NR: usize,
    const HALF: usize,
    const FMA: bool,
    const D: usize,
>(
    a: &L,
    b: &[T],
    c: &mut [T],
    shape: Shape,
    store: Store,
) {
    let full = shape.cols / NR;
    if full >= PACKED_BLOCKS {
        grouped_rows::<T, L, NR, HALF, FMA, PACKED_BLOCKS, D>(a, b, c, shape, store);
    } else if full >= 4 {
        grouped_rows::<T, L, NR, HALF, FMA, 4, D>(a, b, c, shape, store);
    } else if full >= 2 {
        grouped_rows::<T, L, NR, HALF, FMA, 2, D>(a, b, c, shape, store);
    } else if full == 1 {
        grouped_rows::<T, L, NR, HALF, FMA, 1, D>(a, b, c, shape, store);
    } else {
        grouped_rows::<T, L, NR, HALF, FMA, 0, D>(a, b, c, shape, store);
    }
}

/// [`rows`] packing up to `G` column blocks at a time.
#[inline(always)]
fn grouped_rows<
    T: Float,
    L: Left<T>,
    const NR: usize,
    const HALF: usize,
    const FMA: bool,
    const G: usize,
    const D: usize,
>(
    a: &L,
    b: &[T],
    c: &mut [T],
    shape: Shape,
    store: Store,
) {
    let Shape {
        rows: m,
        inner: k,
        cols: n,
    } = shape;
    let mut packed = [[[T::ZERO; NR]; D]; G];
    let mut half = [[T::ZERO; HALF]; D];
    let mut tail = [[T::ZERO; HALF]; D];
    // Panels of the left operand for each height of row block, made
    // once rather than once per block.
    let mut panel_6 = [[T::ZERO; BLOCK_ROWS]; D];
    let mut panel_4 = [[T::ZERO; 4]; D];
    let mut panel_2 = [[T::ZERO; 2]; D];
    let mut panel_1 = [[T::ZERO; 1]; D];
    let full = n / NR;
    let tail_start = full * NR + if n - full * NR >= HALF { HALF } else { 0 };
    let mut k0 = 0;
    while k0 < k {
        let depth = D.min(k - k0);
        let b_rows = || b[k0 * n..(k0 + depth) * n].chunks_exact(n);
        // Groups of packed column blocks; the last group (the only one
        // when `n < NR`) also does the columns after the full blocks.
        let mut first = 0;
        loop {
            let count = G.min(full - first);
            for (block, panel) in (first..).zip(&mut packed[..count]) {
                for (entry, b_row) in panel.iter_mut().zip(b_rows()) {
                    entry.copy_from_slice(&b_row[block * NR..][..NR]);
                }
            }
            let rest = first + count == full;
            if rest && n - full * NR >= HALF {
                for (entry, b_row) in half.iter_mut().zip(b_rows()) {
                    entry.copy_from_slice(&b_row[full * NR..][..HALF]);
                }
            }
            // The last few columns, fewer than half a block, in a panel of
            // half a block whose other columns stay zero: a register block
            // of a fixed width, rather than a loop of a few iterations run
            // for every depth and row.
            if rest && tail_start < n {
                for (entry, b_row) in tail.iter_mut().zip(b_rows()) {
                    for (entry, &value) in entry.iter_mut().zip(&b_row[tail_start..]) {
                        *entry = value;
                    }
                }
            }
            let group = Group {
                packed: &packed[..count],
                half: &half,
                tail: &tail,
                tail_start,
                first,
                rest,
                // The first slice writes `C` when overwriting; the
                // others add to it.
                overwrite: k0 == 0 && store == Store::Overwrite,
            };
            let mut i = 0;
            while i + BLOCK_ROWS <= m {
                row_block::<T, L, BLOCK_ROWS, NR, HALF, FMA, D>(
                    a,
                    c,
                    shape,
                    i,
                    k0,
                    &group,
                    &mut panel_6,
                );
                i += BLOCK_ROWS;
            }
            // The last rows in blocks of 4, 2 and 1, as many as `m` leaves.
            if m % BLOCK_ROWS >= 4 {
                row_block::<T, L, 4, NR, HALF, FMA, D>(a, c, shape, i, k0, &group, &mut panel_4);
                i += 4;
            }
            if m % BLOCK_ROWS % 4 >= 2 {
                row_block::<T, L, 2, NR, HALF, FMA, D>(a, c, shape, i, k0, &group, &mut panel_2);
                i += 2;
            }
            if m % 2 == 1 {
                row_block::<T, L, 1, NR, HALF, FMA, D>(a, c, shape, i, k0, &group, &mut panel_1);
            }
            first += count;
            if group.rest {
                break;
            }
        }
        k0 += D;
    }
}

/// Column blocks of `B` packed for one depth slice: `packed[p]` holds
/// block `first + p`; `rest` says whether the columns after the last
/// full block are to be done with them, the first half block of those
/// from `half`, the columns from `tail_start` on from `tail`;
/// `overwrite` whether the sums replace `C`'s entries rather than add to
/// them.
struct Group<'a, T, const NR: usize, const HALF: usize, const D: usize> {
    packed: &'a [[[T; NR]; D]],
    half: &'a [[T; HALF]; D],
    tail: &'a [[T; HALF]; D],
    tail_start: usize,
    first: usize,
    rest: bool,
    overwrite: bool,
}

/// Rows `i..i + R` of `C`, over the depth slice from `k0`, for the
/// columns of one group.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn row_block<
    T: Float,
    L: Left<T>,
    const R: usize,
    const NR: usize,
    const HALF: usize,
    const FMA: bool,
    const D: usize,
>(
    a: &L,
    c: &mut [T],
    shape: Shape,
    i: usize,
    k0: usize,
    group: &Group<'_, T, NR, HALF, D>,
    panel: &mut [[T; R]; D],
) {
    let n = shape.cols;
    let c_rows = &mut c[i * n..(i + R) * n];
    let depth = D.min(shape.inner - k0);
    let panel = &mut panel[..depth];
    a.pack(i, k0, panel);
    // Column blocks held in registers, then half a block, then the
    // last few columns.
    for (block, b_panel) in (group.first..).zip(group.packed) {
        let b_panel = &b_panel[..depth];
        column_block::<T, R, NR, FMA>(panel, b_panel, c_rows, n, block * NR, NR, group.overwrite);
    }
    if !group.rest {
        return;
    }
    let done = n / NR * NR;
    if group.tail_start > done {
        let b_panel = &group.half[..depth];
        column_block::<T, R, HALF, FMA>(panel, b_panel, c_rows, n, done, HALF, group.overwrite);
    }
    if group.tail_start < n {
        let (b_panel, first) = (&group.tail[..depth], group.tail_start);
        column_block::<T, R, HALF, FMA>(
            panel,
            b_panel,
            c_rows,
            n,
            first,
            n - first,
            group.overwrite,
        );
    }
}

/// Columns `first..first + width` (`width ≤ W`) of `R` rows of `C` (rows
/// of `n`), over one depth slice (`b_panel[k]` is row `k` of those columns of
/// `B`, padded to `W`), in `R × W` registers, then written to `C` or added
/// to it.
#[inline(always)]
fn column_block<T: Float, const R: usize, const W: usize, const FMA: bool>(
    panel: &[[T; R]],
    b_panel: &[[T; W]],
    c_rows: &mut [T],
    n: usize,
    first: usize,
    width: usize,
    overwrite: bool,
) {
    let mut acc = [[T::ZERO; W]; R];
    for (a_k, b_k) in panel.iter().zip(b_panel) {
        for (acc_row, &a_value) in acc.iter_mut().zip(a_k) {
            for (sum, &b_value) in acc_row.iter_mut().zip(b_k) {
                *sum = if FMA {
                    a_value.mul_add(b_value, *sum)
                } else {
                    *sum + a_value * b_value
                };
            }
        }
    }
    // Rows by offset rather than `chunks_exact_mut(n)`, whose division by
    // the run-time `n` would cost, on every call, as much as a short depth
    // slice's multiply-adds.
    for (r, acc_row) in acc.iter().enumerate() {
        let out = &mut c_rows[r * n + first..][..width];
        if overwrite {
            out.copy_from_slice(&acc_row[..width]);
        } else {
            for (out, &sum) in out.iter_mut().zip(acc_row) {
                *out += sum;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::kernels::plain;
    use std::boxed::Box;

    fn filled<const R: usize, const C: usize>(start: f32) -> [[f32; C]; R] {
        core::array::from_fn(|r| {
            core::array::from_fn(|c| start + ((r * C + c) % 23) as f32 * 0.37 - 1.3)
        })
    }

    #[test]
    fn portable_register_kernel_matches_plain_loops() {
        // The copy without AVX2 and FMA, which CPUs that have them never run.
        let x: Box<[[f32; 140]; 9]> = Box::new(filled(0.3));
        let w: Box<[[f32; 22]; 140]> = Box::new(filled(-0.2));
        let mut want = Box::new([[0.0_f32; 22]; 9]);
        plain::affine(&x, &w, &[0.0; 22], &mut want);
        // Over a non-zero start, so that every entry must be written.
        let mut got = Box::new([[7.0_f32; 22]; 9]);
        let shape = Shape {
            rows: 9,
            inner: 140,
            cols: 22,
        };
        let left = RowMajor {
            a: x.as_flattened(),
            inner: 140,
        };
        rows::<f32, _, 8, 4, false>(
            &left,
            w.as_flattened(),
            got.as_flattened_mut(),
            shape,
            Store::Overwrite,
        );
        for (&got, &want) in got.as_flattened().iter().zip(want.as_flattened()) {
            assert!(
                (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                "{got} vs {want}"
            );
        }
    }
}
