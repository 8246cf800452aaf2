//! Standardisation: each input column shifted by its mean and divided by
//! its spread, as scikit-learn's `StandardScaler` does, with statistics
//! that travel with the weights (`io::save_with_standardiser`).

use core::fmt;

use crate::network::non_finite;
use crate::{BatchError, Float};

/// Per-column `mean` and `scale` of `N` input columns: [`apply`] maps a
/// row `x` to `(x − mean) / scale`, column by column.
///
/// [`fit`] computes them from training rows as scikit-learn's
/// `StandardScaler` does: the mean, and the population standard deviation
/// (dividing by the number of rows, not one less); a constant column gets
/// scale 1, so that it maps to 0 rather than to NaN. Fit on the training
/// rows only and apply the same statistics to the test rows and to every
/// input in deployment: saved with the weights
/// (`io::save_with_standardiser`), they cannot be lost or mixed up.
///
/// ```
/// use backprop::data::Standardiser;
///
/// let train = [[1.0_f32, 10.0], [2.0, 10.0], [3.0, 10.0], [4.0, 10.0]];
/// let scaler = Standardiser::fit(&train)?;
/// // Column 0: mean 2.5, population variance 1.25; column 1 is constant.
/// assert_eq!(scaler.mean(), &[2.5, 10.0]);
/// assert_eq!(scaler.scale(), &[1.25_f32.sqrt(), 1.0]);
/// assert_eq!(scaler.apply(&[2.5, 11.0]), [0.0, 1.0]);
/// # Ok::<(), backprop::BatchError>(())
/// ```
///
/// [`apply`]: Standardiser::apply
/// [`fit`]: Standardiser::fit
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Standardiser<T, const N: usize> {
    mean: [T; N],
    scale: [T; N],
}

impl<T: Float, const N: usize> Default for Standardiser<T, N> {
    fn default() -> Self {
        Self::identity()
    }
}

impl<T: Float, const N: usize> Standardiser<T, N> {
    /// The standardiser that changes nothing: mean 0 and scale 1 in every
    /// column. A place to load saved statistics into.
    ///
    /// ```
    /// use backprop::data::Standardiser;
    ///
    /// let identity = Standardiser::<f64, 2>::identity();
    /// assert_eq!(identity.apply(&[3.0, -4.0]), [3.0, -4.0]);
    /// ```
    #[must_use]
    pub const fn identity() -> Self {
        Self {
            mean: [T::ZERO; N],
            scale: [T::ONE; N],
        }
    }

    /// The mean and population standard deviation of each column of
    /// `rows`, computed in `f64` in two passes (the mean, then the mean
    /// squared deviation from it), then rounded to `T`. A column whose
    /// values are all equal gets scale 1.
    ///
    /// ```
    /// use backprop::data::Standardiser;
    ///
    /// let rows = [[2.0_f64], [4.0], [4.0], [4.0], [5.0], [5.0], [7.0], [9.0]];
    /// let scaler = Standardiser::fit(&rows)?;
    /// assert_eq!((scaler.mean()[0], scaler.scale()[0]), (5.0, 2.0));
    ///
    /// let error = Standardiser::<f64, 1>::fit(&[]).unwrap_err();
    /// assert_eq!(error, backprop::BatchError::Empty);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`BatchError::Empty`] for no rows and [`BatchError::NonFinite`] at
    /// the first NaN or infinite value, which would make its column's
    /// statistics NaN.
    pub fn fit(rows: &[[T; N]]) -> Result<Self, BatchError> {
        if rows.is_empty() {
            return Err(BatchError::Empty);
        }
        non_finite("input", rows)?;
        let count = rows.len() as f64;
        let mut mean = [T::ZERO; N];
        let mut scale = [T::ONE; N];
        for column in 0..N {
            let values = || rows.iter().map(|row| row[column].to_f64());
            let first = rows[0][column];
            if rows.iter().all(|row| row[column] == first) {
                // Exactly constant: the mean is the value itself (a sum of
                // equal values divided by their count can round away from
                // it), and a scale of 0 would divide by zero.
                mean[column] = first;
                continue;
            }
            let column_mean = values().sum::<f64>() / count;
            let variance = values()
                .map(|value| (value - column_mean) * (value - column_mean))
                .sum::<f64>()
                / count;
            mean[column] = T::from_f64(column_mean);
            let deviation = T::from_f64(libm::sqrt(variance));
            // Values so close that their spread rounds to 0 in `T`.
            scale[column] = if deviation > T::ZERO {
                deviation
            } else {
                T::ONE
            };
        }
        Ok(Self { mean, scale })
    }

    /// The standardiser of the given statistics, such as those another
    /// program computed.
    ///
    /// ```
    /// use backprop::data::{Standardiser, StandardiserError};
    ///
    /// let scaler = Standardiser::from_parts([1.0_f32, 0.0], [2.0, 0.5])?;
    /// assert_eq!(scaler.apply(&[3.0, 1.0]), [1.0, 2.0]);
    ///
    /// let error = Standardiser::from_parts([0.0_f32], [0.0]).unwrap_err();
    /// assert_eq!(error, StandardiserError::Scale { column: 0, value: 0.0 });
    /// # Ok::<(), StandardiserError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`StandardiserError::Mean`] if a mean is NaN or infinite and
    /// [`StandardiserError::Scale`] if a scale is not finite and positive.
    pub fn from_parts(mean: [T; N], scale: [T; N]) -> Result<Self, StandardiserError> {
        if let Some(column) = mean.iter().position(|value| !value.is_finite()) {
            return Err(StandardiserError::Mean {
                column,
                value: mean[column].to_f64(),
            });
        }
        if let Some(column) = scale
            .iter()
            .position(|&value| !(value.is_finite() && value > T::ZERO))
        {
            return Err(StandardiserError::Scale {
                column,
                value: scale[column].to_f64(),
            });
        }
        Ok(Self { mean, scale })
    }

    /// Each column's mean.
    ///
    /// ```
    /// use backprop::data::Standardiser;
    ///
    /// assert_eq!(Standardiser::fit(&[[1.0_f32], [3.0]])?.mean(), &[2.0]);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[must_use]
    pub const fn mean(&self) -> &[T; N] {
        &self.mean
    }

    /// Each column's scale: its population standard deviation, or 1.
    ///
    /// ```
    /// use backprop::data::Standardiser;
    ///
    /// assert_eq!(Standardiser::fit(&[[1.0_f32], [3.0]])?.scale(), &[1.0]);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[must_use]
    pub const fn scale(&self) -> &[T; N] {
        &self.scale
    }

    /// `(row − mean) / scale`, column by column.
    ///
    /// ```
    /// use backprop::data::Standardiser;
    ///
    /// let scaler = Standardiser::from_parts([10.0_f64, -1.0], [5.0, 2.0])?;
    /// assert_eq!(scaler.apply(&[20.0, 0.0]), [2.0, 0.5]);
    /// # Ok::<(), backprop::data::StandardiserError>(())
    /// ```
    #[must_use]
    pub fn apply(&self, row: &[T; N]) -> [T; N] {
        core::array::from_fn(|i| (row[i] - self.mean[i]) / self.scale[i])
    }

    /// [`apply`](Standardiser::apply) to every row, in place.
    ///
    /// ```
    /// use backprop::data::Standardiser;
    ///
    /// let mut rows = [[1.0_f32], [7.0], [1.0], [7.0]]; // mean 4, standard deviation 3
    /// let scaler = Standardiser::fit(&rows)?;
    /// scaler.apply_all(&mut rows);
    /// assert_eq!(rows, [[-1.0], [1.0], [-1.0], [1.0]]);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    pub fn apply_all(&self, rows: &mut [[T; N]]) {
        for row in rows {
            *row = self.apply(row);
        }
    }

    /// The row that [`apply`](Standardiser::apply) maps to `standardised`:
    /// `standardised · scale + mean`, back in the data's units.
    ///
    /// ```
    /// use backprop::data::Standardiser;
    ///
    /// let scaler = Standardiser::from_parts([10.0_f64], [5.0])?;
    /// assert_eq!(scaler.invert(&[2.0]), [20.0]);
    /// assert_eq!(scaler.invert(&scaler.apply(&[7.5])), [7.5]);
    /// # Ok::<(), backprop::data::StandardiserError>(())
    /// ```
    #[must_use]
    pub fn invert(&self, standardised: &[T; N]) -> [T; N] {
        core::array::from_fn(|i| standardised[i] * self.scale[i] + self.mean[i])
    }
}

/// Statistics [`Standardiser::from_parts`] refused.
///
/// ```
/// use backprop::data::StandardiserError;
///
/// let error = StandardiserError::Mean { column: 2, value: f64::NAN };
/// assert_eq!(error.to_string(), "the mean of column 2 is NaN; a mean must be finite");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum StandardiserError {
    /// A mean is NaN or infinite.
    Mean {
        /// Its column, from 0.
        column: usize,
        /// The mean, as `f64`.
        value: f64,
    },
    /// A scale is zero, negative, NaN or infinite.
    Scale {
        /// Its column, from 0.
        column: usize,
        /// The scale, as `f64`.
        value: f64,
    },
}

impl fmt::Display for StandardiserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mean { column, value } => write!(
                f,
                "the mean of column {column} is {value}; a mean must be finite"
            ),
            Self::Scale { column, value } => write!(
                f,
                "the scale of column {column} is {value}; a scale must be finite and positive"
            ),
        }
    }
}

impl core::error::Error for StandardiserError {}
