//! Typed views into a network's flat parameter array.
//!
//! A generated network keeps all its parameters in one array, so optimizers
//! and serialisation see one slice; these functions give each layer its
//! `W` and `b` as fixed-size arrays without copying. The sizes are
//! constants at every call site, so the checks compile away.

/// `flat` (exactly `R·C` values, row-major) as an `R × C` matrix.
///
/// # Panics
///
/// If `flat.len() != R * C`.
#[inline]
#[must_use]
pub fn matrix<T, const R: usize, const C: usize>(flat: &[T]) -> &[[T; C]; R] {
    match flat.as_chunks::<C>() {
        (rows, []) => rows.try_into().unwrap_or_else(|_| wrong_length()),
        _ => wrong_length(),
    }
}

/// [`matrix`], mutable.
///
/// # Panics
///
/// If `flat.len() != R * C`.
#[inline]
#[must_use]
pub fn matrix_mut<T, const R: usize, const C: usize>(flat: &mut [T]) -> &mut [[T; C]; R] {
    match flat.as_chunks_mut::<C>() {
        (rows, []) => rows.try_into().unwrap_or_else(|_| wrong_length()),
        _ => wrong_length(),
    }
}

/// `flat` (exactly `N` values) as an array.
///
/// # Panics
///
/// If `flat.len() != N`.
#[inline]
#[must_use]
pub fn vector<T, const N: usize>(flat: &[T]) -> &[T; N] {
    flat.try_into().unwrap_or_else(|_| wrong_length())
}

/// [`vector`], mutable.
///
/// # Panics
///
/// If `flat.len() != N`.
#[inline]
#[must_use]
pub fn vector_mut<T, const N: usize>(flat: &mut [T]) -> &mut [T; N] {
    flat.try_into().unwrap_or_else(|_| wrong_length())
}

/// The panic of a view whose range holds another number of values: one
/// function, not one formatted message per matrix shape.
#[cold]
#[track_caller]
fn wrong_length() -> ! {
    panic!("a parameter range holds another number of values than its view's shape")
}
