//! The two element types a network can use, `f32` and `f64`.
//!
//! Whatever differs between them is here, on the sealed [`Float`] trait,
//! and chosen by the type at compile time: the width of the blocked
//! kernel's register block, the row functions behind `tanh`, `sigmoid`,
//! `elu`, `softplus` and softmax's `exp` (the approximations of
//! [`fastmath`] in `f32` and of `fastmath64` in `f64`), and which compiled
//! copy of the blocked product runs.

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

#[cfg(feature = "alloc")]
use alloc::{boxed::Box, vec, vec::Vec};

use crate::kernels::Store;
use crate::kernels::blocked::{Left, Shape};
use crate::optim::{AdamStep, SgdStep};

pub(crate) mod fastmath;
mod fastmath64;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type: implemented for `f32` and `f64` only.
///
/// The math functions come from [`libm`], so results are the same with and
/// without `std` and on every platform.
///
/// ```
/// use backprop_runtime::Float;
///
/// fn half<T: Float>(x: T) -> T {
///     x / T::TWO
/// }
/// assert_eq!(half(3.0_f32), 1.5);
/// ```
pub trait Float:
    sealed::Sealed
    + Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
{
    /// `0`.
    const ZERO: Self;
    /// `1`.
    const ONE: Self;
    /// `2`.
    const TWO: Self;
    /// The type's name, `"f32"` or `"f64"`.
    const NAME: &'static str;

    /// Converts from `f64`, rounding to the nearest value of `Self`.
    fn from_f64(value: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Converts a count, such as a batch size, to `Self`.
    fn from_usize(count: usize) -> Self;
    /// `self · a + b` with one rounding: a fused multiply-add instruction
    /// where the matrix kernels have checked that the CPU has one.
    #[must_use]
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `eˣ`.
    #[must_use]
    fn exp(self) -> Self;
    /// Natural logarithm.
    #[must_use]
    fn ln(self) -> Self;
    /// `eˣ − 1`, accurate near 0.
    #[must_use]
    fn exp_m1(self) -> Self;
    /// `ln(1 + x)`, accurate near 0.
    #[must_use]
    fn ln_1p(self) -> Self;
    /// Hyperbolic tangent.
    #[must_use]
    fn tanh(self) -> Self;
    /// The error function.
    #[must_use]
    fn erf(self) -> Self;
    /// The complementary error function, `1 − erf(x)`, accurate where
    /// `erf(x)` is near 1.
    #[must_use]
    fn erfc(self) -> Self;
    /// The larger of two values (`NaN` if either is).
    #[must_use]
    fn max(self, other: Self) -> Self;
    /// Square root.
    #[must_use]
    fn sqrt(self) -> Self;
    /// Absolute value.
    #[must_use]
    fn abs(self) -> Self;
    /// `true` unless the value is infinite or NaN.
    fn is_finite(self) -> bool;

    /// Columns of the blocked kernel's register block without AVX: two
    /// 16-byte SSE registers' worth of values per row (8 `f32`, 4 `f64`).
    /// Products with fewer output columns stay plain.
    #[doc(hidden)]
    const BLOCK_COLS: usize;

    // The row functions take `FUSED`: whether the caller is compiled for
    // FMA (the forward pass's AVX2 copy), where their polynomials' and
    // ratios' multiply-adds then round once, as one instruction each.

    /// `h = tanh(z)` along a row, in a form the compiler vectorises where
    /// the type allows: see [`kernels::tanh`](crate::kernels::tanh).
    #[doc(hidden)]
    fn tanh_row<const FUSED: bool>(z: &[Self], h: &mut [Self]);

    /// `h = σ(z)` along a row, vectorised where the type allows: see
    /// [`kernels::sigmoid`](crate::kernels::sigmoid).
    #[doc(hidden)]
    fn sigmoid_row<const FUSED: bool>(z: &[Self], h: &mut [Self]);

    /// `x = eˣ` in place along a row whose entries are all `≤ 0` (or NaN),
    /// as softmax and the fused cross-entropy need: vectorised where the
    /// type allows.
    #[doc(hidden)]
    fn exp_nonpositive_row<const FUSED: bool>(x: &mut [Self]);

    /// [`exp_nonpositive_row`](Float::exp_nonpositive_row) without fused
    /// multiply-adds, compiled once in the runtime rather than into every
    /// network's crate: for softmax, the cross-entropy and the policy
    /// heads, whose few exponentials per row need no copy of their own.
    #[doc(hidden)]
    fn exp_nonpositive_row_outlined(x: &mut [Self]);

    /// `x = eˣ − 1` in place along a row whose entries are all `≤ 0` (or
    /// NaN), as `elu` needs: vectorised where the type allows.
    #[doc(hidden)]
    fn exp_m1_nonpositive_row<const FUSED: bool>(x: &mut [Self]);

    /// `x = ln(1 + x)` in place along a row whose entries are all in
    /// `[0, 1]` (or NaN), as `softplus` needs: vectorised where the type
    /// allows.
    #[doc(hidden)]
    fn ln_1p_unit_row<const FUSED: bool>(x: &mut [Self]);

    /// `x = erfc(x)` in place along a row, as `gelu` needs: vectorised in
    /// `f32`, `libm` value by value in `f64`.
    #[doc(hidden)]
    fn erfc_row<const FUSED: bool>(x: &mut [Self]);

    /// `C = A·B` or `C += A·B` through the register-blocked kernel, on
    /// flat row-major slices of run-time sizes: compiled once, in this
    /// crate, for each type (with its AVX2 and FMA copy), rather than in
    /// every crate for every product shape. Use
    /// [`kernels::blocked::product`](crate::kernels::blocked::product).
    #[doc(hidden)]
    fn blocked_product(a: Left<'_, Self>, b: &[Self], c: &mut [Self], shape: Shape, store: Store);

    /// An SGD step with options, compiled once here: a crate that trains
    /// a network compiles only the call.
    #[doc(hidden)]
    fn sgd_step(
        step: &SgdStep<Self>,
        params: &mut [Self],
        grads: &[Self],
        velocity: Option<&mut [Self]>,
    );

    /// An Adam or `AdamW` step, compiled once here.
    #[doc(hidden)]
    fn adam_step(
        step: &AdamStep<Self>,
        params: &mut [Self],
        grads: &[Self],
        moments: [&mut [Self]; 2],
        max_second: Option<&mut [Self]>,
    );

    /// Sizes an empty optimizer state to `len` zeros in one allocation,
    /// compiled once here rather than in every crate with a `Vec` state.
    #[cfg(feature = "alloc")]
    #[doc(hidden)]
    fn zeroed_state(state: &mut Vec<Self>, len: usize);

    /// `len` zeros in a new allocation, compiled once here.
    #[cfg(feature = "alloc")]
    #[doc(hidden)]
    fn boxed_zeros(len: usize) -> Box<[Self]>;

    /// A copy of `values` in a new allocation, compiled once here.
    #[cfg(feature = "alloc")]
    #[doc(hidden)]
    fn boxed_copy(values: &[Self]) -> Box<[Self]>;
}

macro_rules! impl_float {
    ($t:ident, $block_cols:expr, $math:ident, $fma:path, $exp:path, $exp_m1:path, $ln:path, $ln_1p:path, $tanh:path, $erf:path, $erfc:path, $sqrt:path, $abs:path) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const TWO: Self = 2.0;
            const NAME: &'static str = stringify!($t);

            #[inline]
            #[allow(clippy::cast_possible_truncation)]
            fn from_f64(value: f64) -> Self {
                value as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            #[inline]
            fn from_usize(count: usize) -> Self {
                count as $t
            }
            #[inline]
            fn mul_add(self, a: Self, b: Self) -> Self {
                // `std`'s becomes the instruction inside functions compiled
                // for a CPU with FMA; `libm`'s is software.
                #[cfg(feature = "std")]
                {
                    <$t>::mul_add(self, a, b)
                }
                #[cfg(not(feature = "std"))]
                {
                    $fma(self, a, b)
                }
            }
            #[inline]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline]
            fn ln(self) -> Self {
                $ln(self)
            }
            #[inline]
            fn exp_m1(self) -> Self {
                $exp_m1(self)
            }
            #[inline]
            fn ln_1p(self) -> Self {
                $ln_1p(self)
            }
            #[inline]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            #[inline]
            fn erf(self) -> Self {
                $erf(self)
            }
            #[inline]
            fn erfc(self) -> Self {
                $erfc(self)
            }
            #[inline]
            fn max(self, other: Self) -> Self {
                if self.is_nan() || other.is_nan() {
                    <$t>::NAN
                } else if self >= other {
                    self
                } else {
                    other
                }
            }
            #[inline]
            fn sqrt(self) -> Self {
                $sqrt(self)
            }
            #[inline]
            fn abs(self) -> Self {
                $abs(self)
            }
            #[inline]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }

            const BLOCK_COLS: usize = $block_cols;

            // Always: a tiny network's whole step is one chain of
            // operations, and a call in it costs more than the function.
            #[inline(always)]
            fn tanh_row<const FUSED: bool>(z: &[Self], h: &mut [Self]) {
                $math::tanh_row::<FUSED>(z, h);
            }
            #[inline(always)]
            fn sigmoid_row<const FUSED: bool>(z: &[Self], h: &mut [Self]) {
                $math::sigmoid_row::<FUSED>(z, h);
            }
            #[inline(always)]
            fn exp_nonpositive_row<const FUSED: bool>(x: &mut [Self]) {
                $math::exp_nonpositive_row::<FUSED>(x);
            }
            #[inline]
            fn exp_nonpositive_row_outlined(x: &mut [Self]) {
                $math::exp_nonpositive_row_outlined(x);
            }
            #[inline(always)]
            fn exp_m1_nonpositive_row<const FUSED: bool>(x: &mut [Self]) {
                $math::exp_m1_nonpositive_row::<FUSED>(x);
            }
            #[inline(always)]
            fn ln_1p_unit_row<const FUSED: bool>(x: &mut [Self]) {
                $math::ln_1p_unit_row::<FUSED>(x);
            }
            #[inline(always)]
            fn erfc_row<const FUSED: bool>(x: &mut [Self]) {
                $math::erfc_row::<FUSED>(x);
            }

            // Not `#[inline]`: a function of no type parameters is compiled
            // here, once, and called from the crates that use it.
            fn blocked_product(
                a: Left<'_, Self>,
                b: &[Self],
                c: &mut [Self],
                shape: Shape,
                store: Store,
            ) {
                crate::kernels::blocked::compiled_product::<
                    Self,
                    { $block_cols },
                    { $block_cols / 2 },
                    { 2 * $block_cols },
                    { $block_cols },
                >(a, b, c, shape, store);
            }

            fn sgd_step(
                step: &SgdStep<Self>,
                params: &mut [Self],
                grads: &[Self],
                velocity: Option<&mut [Self]>,
            ) {
                step.apply(params, grads, velocity);
            }

            fn adam_step(
                step: &AdamStep<Self>,
                params: &mut [Self],
                grads: &[Self],
                moments: [&mut [Self]; 2],
                max_second: Option<&mut [Self]>,
            ) {
                step.apply(params, grads, moments, max_second);
            }

            #[cfg(feature = "alloc")]
            fn zeroed_state(state: &mut Vec<Self>, len: usize) {
                state.reserve_exact(len);
                state.resize(len, 0.0);
            }

            #[cfg(feature = "alloc")]
            fn boxed_zeros(len: usize) -> Box<[Self]> {
                vec![0.0; len].into_boxed_slice()
            }

            #[cfg(feature = "alloc")]
            fn boxed_copy(values: &[Self]) -> Box<[Self]> {
                values.into()
            }
        }
    };
}

impl_float!(
    f32,
    8,
    fastmath,
    libm::fmaf,
    libm::expf,
    libm::expm1f,
    libm::logf,
    libm::log1pf,
    libm::tanhf,
    libm::erff,
    libm::erfcf,
    libm::sqrtf,
    libm::fabsf
);
impl_float!(
    f64,
    4,
    fastmath64,
    libm::fma,
    libm::exp,
    libm::expm1,
    libm::log,
    libm::log1p,
    libm::tanh,
    libm::erf,
    libm::erfc,
    libm::sqrt,
    libm::fabs
);
