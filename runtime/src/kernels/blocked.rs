//! The products through the register-blocked kernel, whatever the sizes
//! (`kernels = blocked` in `network!`).
//!
//! The functions here are thin and generic over the sizes; the kernel
//! itself ([`product`]) takes run-time sizes and is compiled once per
//! float type, in this crate (through [`Float`]), with its AVX2 and FMA
//! copy. A crate with many product shapes then compiles none of the
//! kernel's code, only calls into it.

use super::{Matrix, Store};
use crate::Float;

mod register;

/// The left operand `A` (`rows × inner`) of a product `A·B`, as a flat
/// row-major slice.
#[derive(Clone, Copy, Debug)]
pub enum Left<'a, T> {
    /// `A` as it is stored: `rows` rows of `inner` values.
    RowMajor(&'a [T]),
    /// `A = Hᵀ` for an `H` stored as `inner` rows of `rows` values, as the
    /// weight gradient `Hᵀ·Δ` reads the layer's input.
    Transposed(&'a [T]),
}

/// The sizes of a product `C = A·B`: `A` is `rows × inner`, `B` is
/// `inner × cols`, `C` is `rows × cols`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Rows of `A` and `C`.
    pub rows: usize,
    /// Columns of `A`, rows of `B`.
    pub inner: usize,
    /// Columns of `B` and `C`.
    pub cols: usize,
}

/// `C = A·B` or `C += A·B` as `store` says, on flat row-major slices of
/// the sizes `shape` gives, through the register-blocked kernel compiled
/// in this crate for `T`.
///
/// # Panics
///
/// If a slice is shorter than `shape` says.
///
/// ```
/// use backprop_runtime::Store;
/// use backprop_runtime::kernels::blocked::{Left, Shape, product};
///
/// let a = [1.0, 2.0, 3.0, 4.0]; // 2 × 2
/// let b = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0]; // 2 × 3
/// let mut c = [0.0; 6];
/// let shape = Shape { rows: 2, inner: 2, cols: 3 };
/// product(Left::RowMajor(&a), &b, &mut c, shape, Store::Overwrite);
/// assert_eq!(c, [1.0, 2.0, 3.0, 3.0, 4.0, 7.0]);
/// ```
#[inline]
pub fn product<T: Float>(a: Left<'_, T>, b: &[T], c: &mut [T], shape: Shape, store: Store) {
    T::blocked_product(a, b, c, shape, store);
}

/// What `Float::blocked_product` runs for `f32` and `f64`: instantiated
/// there, inside this crate, and nowhere else, with the type's register
/// block of `NR` columns (`WIDE_NR` with AVX2) and half blocks of `HALF`
/// (`WIDE_HALF`).
pub(crate) fn compiled_product<
    T: Float,
    const NR: usize,
    const HALF: usize,
    const WIDE_NR: usize,
    const WIDE_HALF: usize,
>(
    a: Left<'_, T>,
    b: &[T],
    c: &mut [T],
    shape: Shape,
    store: Store,
) {
    let Shape { rows, inner, cols } = shape;
    let a_len = match a {
        Left::RowMajor(a) | Left::Transposed(a) => a.len(),
    };
    assert!(
        a_len >= rows * inner && b.len() >= inner * cols && c.len() >= rows * cols,
        "operands shorter than {rows} × {inner} × {cols}"
    );
    let c = &mut c[..rows * cols];
    match a {
        Left::RowMajor(a) => {
            let a = register::RowMajor { a, inner };
            register::product::<T, _, NR, HALF, WIDE_NR, WIDE_HALF>(&a, b, c, shape, store);
        }
        Left::Transposed(h) => {
            let a = register::Transposed { h, rows };
            register::product::<T, _, NR, HALF, WIDE_NR, WIDE_HALF>(&a, b, c, shape, store);
        }
    }
}

/// [`affine`](super::affine), register-blocked.
#[inline]
pub fn affine<T: Float, const B: usize, const I: usize, const O: usize>(
    x: &Matrix<T, B, I>,
    w: &Matrix<T, I, O>,
    b: &[T; O],
    z: &mut Matrix<T, B, O>,
) {
    for z_row in z.iter_mut() {
        *z_row = *b;
    }
    let shape = Shape {
        rows: B,
        inner: I,
        cols: O,
    };
    product(
        Left::RowMajor(x.as_flattened()),
        w.as_flattened(),
        z.as_flattened_mut(),
        shape,
        Store::Add,
    );
}

/// [`weight_gradient`](super::weight_gradient), register-blocked.
#[inline]
pub fn weight_gradient<T: Float, const B: usize, const I: usize, const O: usize>(
    a: &Matrix<T, B, I>,
    d: &Matrix<T, B, O>,
    g: &mut Matrix<T, I, O>,
    store: Store,
) {
    let shape = Shape {
        rows: I,
        inner: B,
        cols: O,
    };
    product(
        Left::Transposed(a.as_flattened()),
        d.as_flattened(),
        g.as_flattened_mut(),
        shape,
        store,
    );
}

/// [`transposed_product`](super::transposed_product), register-blocked
/// on a copy of `Wᵀ` made on the stack.
#[inline]
pub fn transposed_product<T: Float, const B: usize, const I: usize, const O: usize>(
    d: &Matrix<T, B, O>,
    w: &Matrix<T, I, O>,
    out: &mut Matrix<T, B, I>,
) {
    let mut w_t = [[T::ZERO; I]; O];
    for i in 0..I {
        for o in 0..O {
            w_t[o][i] = w[i][o];
        }
    }
    let shape = Shape {
        rows: B,
        inner: O,
        cols: I,
    };
    product(
        Left::RowMajor(d.as_flattened()),
        w_t.as_flattened(),
        out.as_flattened_mut(),
        shape,
        Store::Overwrite,
    );
}
