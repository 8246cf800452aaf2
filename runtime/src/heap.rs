//! Heap storage for networks too large for the stack (feature `alloc`).
//!
//! A generated network keeps its parameters inline, `[T; PARAMS]`, while they
//! fit in 16 KiB; above that it keeps them in a [`HeapArray`] so that the
//! network, its gradient and their copies never sit on a thread's stack
//! (784 → 128 → 10 holds 101 770 parameters, 407 KB in `f32`, and a debug
//! build makes temporary copies of values it moves). Such a network also
//! carries a [`GradientBuffer`]: a training step takes its gradient buffer
//! from there and puts it back, so that only the first step allocates.

use alloc::boxed::Box;
use core::fmt;
use core::ops::{Deref, DerefMut};

use crate::Float;

/// `N` values in one heap allocation, created and copied without a
/// temporary on the stack.
///
/// ```
/// use backprop_runtime::heap::HeapArray;
///
/// let mut a = HeapArray::<f32, 3>::zeroed();
/// a[1] = 2.0;
/// let b = a.clone();
/// assert_eq!(*b, [0.0, 2.0, 0.0]);
/// ```
pub struct HeapArray<T, const N: usize>(Box<[T; N]>);

impl<T: Float, const N: usize> HeapArray<T, N> {
    /// `N` zeros, written straight into the allocation.
    #[must_use]
    pub fn zeroed() -> Self {
        Self::from_boxed(T::boxed_zeros(N))
    }

    fn from_slice(values: &[T]) -> Self {
        Self::from_boxed(T::boxed_copy(values))
    }

    fn from_boxed(boxed: Box<[T]>) -> Self {
        match boxed.try_into() {
            Ok(array) => Self(array),
            Err(_) => unreachable!("the slice holds exactly N values"),
        }
    }
}

impl<T, const N: usize> Deref for HeapArray<T, N> {
    type Target = [T; N];

    #[inline]
    fn deref(&self) -> &[T; N] {
        &self.0
    }
}

impl<T, const N: usize> DerefMut for HeapArray<T, N> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T; N] {
        &mut self.0
    }
}

impl<T: Float, const N: usize> Clone for HeapArray<T, N> {
    fn clone(&self) -> Self {
        // `Box<[T; N]>::clone` may build the array on the stack first in a
        // debug build; copying from a slice never does.
        Self::from_slice(&self.0[..])
    }
}

impl<T: PartialEq, const N: usize> PartialEq for HeapArray<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.0[..] == other.0[..]
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for HeapArray<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0[..].fmt(f)
    }
}

/// The gradient buffer a large network keeps between training steps.
///
/// It is scratch space, not part of the network's value: a clone starts
/// without one, every two buffers compare equal, and `Debug` shows only
/// whether it has been allocated.
pub struct GradientBuffer<T, const N: usize>(Option<HeapArray<T, N>>);

impl<T: Float, const N: usize> GradientBuffer<T, N> {
    /// No buffer yet: the first training step allocates it.
    pub const EMPTY: Self = Self(None);

    /// The buffer as the previous step left it (a training step overwrites
    /// it, so it is not zeroed), or a new, zeroed one on the first call.
    #[must_use]
    #[inline]
    pub fn take(&mut self) -> HeapArray<T, N> {
        self.0.take().unwrap_or_else(HeapArray::zeroed)
    }

    /// Keeps `buffer` for the next step.
    #[inline]
    pub fn keep(&mut self, buffer: HeapArray<T, N>) {
        self.0 = Some(buffer);
    }
}

impl<T: Float, const N: usize> Clone for GradientBuffer<T, N> {
    fn clone(&self) -> Self {
        Self::EMPTY
    }
}

impl<T, const N: usize> PartialEq for GradientBuffer<T, N> {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl<T, const N: usize> fmt::Debug for GradientBuffer<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "GradientBuffer(allocated)"
        } else {
            "GradientBuffer(empty)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_buffer_is_allocated_once_then_reused() {
        let mut buffer = GradientBuffer::<f64, 4>::EMPTY;
        let mut taken = buffer.take();
        assert!(taken.iter().all(|&value| value == 0.0));
        taken[2] = 5.0;
        let address = taken.as_ptr();
        buffer.keep(taken);
        let again = buffer.take();
        assert_eq!(again.as_ptr(), address);
        assert_eq!(again[2].to_bits(), 5.0_f64.to_bits());
    }
}
