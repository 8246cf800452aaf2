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
    let (rows, rest) = flat.as_chunks::<C>();
    assert!(rest.is_empty(), "a {R}×{C} matrix needs {} values", R * C);
    rows.try_into()
        .expect("a parameter range holds exactly R·C values")
}

/// [`matrix`], mutable.
///
/// # Panics
///
/// If `flat.len() != R * C`.
#[inline]
#[must_use]
pub fn matrix_mut<T, const R: usize, const C: usize>(flat: &mut [T]) -> &mut [[T; C]; R] {
    let (rows, rest) = flat.as_chunks_mut::<C>();
    assert!(rest.is_empty(), "a {R}×{C} matrix needs {} values", R * C);
    rows.try_into()
        .expect("a parameter range holds exactly R·C values")
}

/// `flat` (exactly `N` values) as an array.
///
/// # Panics
///
/// If `flat.len() != N`.
#[inline]
#[must_use]
pub fn vector<T, const N: usize>(flat: &[T]) -> &[T; N] {
    flat.try_into()
        .expect("a parameter range holds exactly N values")
}

/// [`vector`], mutable.
///
/// # Panics
///
/// If `flat.len() != N`.
#[inline]
#[must_use]
pub fn vector_mut<T, const N: usize>(flat: &mut [T]) -> &mut [T; N] {
    flat.try_into()
        .expect("a parameter range holds exactly N values")
}
