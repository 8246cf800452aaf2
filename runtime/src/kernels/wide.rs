//! Kernels compiled twice, for the baseline CPU and for AVX2 with FMA,
//! the copy chosen at run time when the CPU has them.
//!
//! `cargo build --release` targets plain x86-64 (SSE2, no fused
//! multiply-add), a quarter of what a recent CPU does per instruction. A
//! kernel implements [`Kernel`] with its body `#[inline(always)]` and
//! generic in `WIDE`; [`run`] calls it either as it is or inside a
//! function compiled for AVX2 and FMA, into which the body is inlined and
//! so compiled for them too. This is the crate's one `unsafe` call.

/// A kernel with a copy for AVX2 and FMA.
pub(crate) trait Kernel {
    /// What the kernel returns.
    type Output;

    /// Runs the kernel. `WIDE` is whether this copy is compiled for AVX2
    /// and FMA, so that it may use [`Float::mul_add`](crate::Float::mul_add)
    /// (an instruction there, a software routine on the baseline CPU) and
    /// blocks for 8-lane registers. Implementations are
    /// `#[inline(always)]`: a body compiled on its own would have neither.
    fn run<const WIDE: bool>(self) -> Self::Output;
}

/// Runs `kernel`'s AVX2 and FMA copy if the CPU has them, else its
/// baseline copy. Without `std` (no detection) or off x86-64, always the
/// baseline copy.
#[inline]
pub(crate) fn run<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if x86::available() {
        return x86::run(kernel);
    }
    kernel.run::<false>()
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[allow(unsafe_code)]
mod x86 {
    use super::Kernel;

    /// Whether this CPU has AVX2 and FMA (`std` caches the answer).
    #[inline]
    pub(super) fn available() -> bool {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }

    /// The kernel's wide copy.
    #[inline]
    pub(super) fn run<K: Kernel>(kernel: K) -> K::Output {
        debug_assert!(available());
        // SAFETY: `run` is called only after `available()` has found AVX2
        // and FMA on this CPU, the one precondition of calling a function
        // compiled for them. Everything else it does is safe code with
        // checked indexing.
        unsafe { avx2_fma(kernel) }
    }

    #[target_feature(enable = "avx2,fma")]
    fn avx2_fma<K: Kernel>(kernel: K) -> K::Output {
        kernel.run::<true>()
    }
}
