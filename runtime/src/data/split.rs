//! Seeded train/test splits, plain and stratified by class.

use alloc::vec::Vec;
use core::fmt;

use super::shuffle;

/// A data set cut in two by [`split`] or [`split_stratified`]: rows for
/// training and rows held out for the test, each input with its target.
///
/// ```
/// use backprop::data::{split, Split};
///
/// let Split { train_inputs, train_targets, test_inputs, test_targets } =
///     split(&[[1.0_f32], [2.0], [3.0], [4.0]], &[10, 20, 30, 40], 0.5, 3)?;
/// assert_eq!((train_inputs.len(), test_inputs.len()), (2, 2));
/// assert_eq!(test_targets[0], test_inputs[0][0] as i32 * 10);
/// assert_eq!(train_targets[1], train_inputs[1][0] as i32 * 10);
/// # Ok::<(), backprop::data::SplitError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Split<X, Y> {
    /// The training inputs.
    pub train_inputs: Vec<X>,
    /// Their targets, one per input.
    pub train_targets: Vec<Y>,
    /// The test inputs.
    pub test_inputs: Vec<X>,
    /// Their targets, one per input.
    pub test_targets: Vec<Y>,
}

/// Cuts `inputs` and their `targets` into a training and a test set, at
/// random but reproducibly: the same `seed` gives the same split on every
/// platform.
///
/// The test set has `⌈test_fraction · n⌉` of the `n` samples, as
/// scikit-learn's `train_test_split` counts them: the first of the order
/// [`shuffle`]`(seed, 0)` gives, in that order; the training set is the
/// rest, in that order too.
///
/// ```
/// use backprop::data::split;
///
/// let x: Vec<[f32; 1]> = (0..10).map(|i| [i as f32]).collect();
/// let y: Vec<usize> = (0..10).collect();
/// let parts = split(&x, &y, 0.25, 42)?;
/// assert_eq!((parts.train_inputs.len(), parts.test_inputs.len()), (7, 3)); // ⌈2.5⌉ = 3
/// assert_eq!(parts, split(&x, &y, 0.25, 42)?);
/// assert_ne!(parts, split(&x, &y, 0.25, 43)?);
/// // Each input keeps its target.
/// assert!(parts.test_inputs.iter().zip(&parts.test_targets).all(|(x, &y)| x[0] == y as f32));
/// # Ok::<(), backprop::data::SplitError>(())
/// ```
///
/// # Errors
///
/// [`SplitError::RowMismatch`] if the slices differ in length,
/// [`SplitError::Fraction`] if `test_fraction` is not strictly between 0
/// and 1, and [`SplitError::EmptyPart`] if either set would be empty.
pub fn split<X: Clone, Y: Clone>(
    inputs: &[X],
    targets: &[Y],
    test_fraction: f64,
    seed: u64,
) -> Result<Split<X, Y>, SplitError> {
    check(inputs.len(), targets.len(), None, test_fraction)?;
    let test = test_count(inputs.len(), test_fraction)?;
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    shuffle(&mut order, seed, 0);
    let (test_order, train_order) = order.split_at(test);
    Ok(gather(inputs, targets, train_order, test_order))
}

/// [`split`], keeping each class's share: a class of `n_c` samples puts
/// `⌊test_fraction · n_c⌋` of them in the test set, and the samples that
/// leaves over the total of `⌈test_fraction · n⌉` go, one each, to the
/// classes with the largest remainders `test_fraction · n_c − ⌊…⌋` (the
/// lower class label first on ties). Within a class, the test samples are
/// the first met in the order [`shuffle`]`(seed, 0)` gives, and both sets
/// keep that order.
///
/// `labels[i]` is sample `i`'s class; the labels need not be consecutive.
///
/// ```
/// use backprop::data::split_stratified;
///
/// // 8 samples of class 0 and 4 of class 1, 30% held out: ⌈3.6⌉ = 4 test
/// // samples, 2 of class 0 (8 · 0.3 = 2.4) and 1 of class 1 (4 · 0.3 = 1.2),
/// // and the fourth to the larger remainder, class 0's.
/// let labels = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
/// let x: Vec<[f32; 1]> = (0..12).map(|i| [i as f32]).collect();
/// let parts = split_stratified(&x, &labels, &labels, 0.3, 7)?;
/// let ones = parts.test_targets.iter().filter(|&&label| label == 1).count();
/// assert_eq!((parts.test_targets.len(), ones), (4, 1));
/// # Ok::<(), backprop::data::SplitError>(())
/// ```
///
/// # Errors
///
/// As [`split`], and [`SplitError::RowMismatch`] if `labels` has not one
/// label per input.
pub fn split_stratified<X: Clone, Y: Clone>(
    inputs: &[X],
    targets: &[Y],
    labels: &[usize],
    test_fraction: f64,
    seed: u64,
) -> Result<Split<X, Y>, SplitError> {
    check(
        inputs.len(),
        targets.len(),
        Some(labels.len()),
        test_fraction,
    )?;
    let total = test_count(inputs.len(), test_fraction)?;

    // The classes in order of their labels, with their sizes.
    let mut classes: Vec<(usize, usize)> = Vec::new();
    for &label in labels {
        match classes.binary_search_by_key(&label, |&(class, _)| class) {
            Ok(at) => classes[at].1 += 1,
            Err(at) => classes.insert(at, (label, 1)),
        }
    }
    // Each class's floor, then the rest by largest remainder.
    let mut quotas: Vec<(usize, usize, f64)> = classes
        .iter()
        .map(|&(class, size)| {
            let exact = test_fraction * size as f64;
            // `exact` lies in 0..=size, so the floor fits in a usize.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let floor = libm::floor(exact) as usize;
            (class, floor, exact - floor as f64)
        })
        .collect();
    let floors: usize = quotas.iter().map(|&(_, floor, _)| floor).sum();
    let mut by_remainder: Vec<usize> = (0..quotas.len()).collect();
    by_remainder.sort_by(|&a, &b| quotas[b].2.total_cmp(&quotas[a].2).then(a.cmp(&b)));
    for &at in by_remainder.iter().take(total.saturating_sub(floors)) {
        quotas[at].1 += 1;
    }

    let mut order: Vec<usize> = (0..inputs.len()).collect();
    shuffle(&mut order, seed, 0);
    let (mut test, mut train) = (Vec::with_capacity(total), Vec::new());
    for index in order {
        let at = quotas
            .binary_search_by_key(&labels[index], |&(class, _, _)| class)
            .unwrap_or_else(|_| unreachable!("every label has a class"));
        if quotas[at].1 > 0 {
            quotas[at].1 -= 1;
            test.push(index);
        } else {
            train.push(index);
        }
    }
    if train.is_empty() {
        return Err(SplitError::EmptyPart {
            samples: inputs.len(),
            test_fraction,
        });
    }
    Ok(gather(inputs, targets, &train, &test))
}

fn check(
    inputs: usize,
    targets: usize,
    labels: Option<usize>,
    test_fraction: f64,
) -> Result<(), SplitError> {
    for (what, rows) in [("target", Some(targets)), ("label", labels)] {
        if let Some(rows) = rows
            && rows != inputs
        {
            return Err(SplitError::RowMismatch { what, inputs, rows });
        }
    }
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(SplitError::Fraction { test_fraction });
    }
    Ok(())
}

/// `⌈test_fraction · samples⌉`, once both parts have a sample.
fn test_count(samples: usize, test_fraction: f64) -> Result<usize, SplitError> {
    // `test_fraction` lies in (0, 1), so the product lies in 0..samples.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let test = libm::ceil(test_fraction * samples as f64) as usize;
    if test == 0 || test >= samples {
        return Err(SplitError::EmptyPart {
            samples,
            test_fraction,
        });
    }
    Ok(test)
}

fn gather<X: Clone, Y: Clone>(
    inputs: &[X],
    targets: &[Y],
    train: &[usize],
    test: &[usize],
) -> Split<X, Y> {
    let pick = |order: &[usize]| -> (Vec<X>, Vec<Y>) {
        order
            .iter()
            .map(|&i| (inputs[i].clone(), targets[i].clone()))
            .unzip()
    };
    let (train_inputs, train_targets) = pick(train);
    let (test_inputs, test_targets) = pick(test);
    Split {
        train_inputs,
        train_targets,
        test_inputs,
        test_targets,
    }
}

/// Why a data set could not be split.
///
/// ```
/// use backprop::data::{split, SplitError};
///
/// // ⌈0.9 · 3⌉ = 3 test samples would leave none for training.
/// let error = split(&[[0.0_f32]; 3], &[0; 3], 0.9, 1).unwrap_err();
/// assert_eq!(error, SplitError::EmptyPart { samples: 3, test_fraction: 0.9 });
/// assert!(split(&[[0.0_f32]; 3], &[0; 3], 0.5, 1).is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum SplitError {
    /// The targets or labels are not one per input.
    RowMismatch {
        /// What they are (`"target"` or `"label"`).
        what: &'static str,
        /// The number of inputs.
        inputs: usize,
        /// The number of targets or labels.
        rows: usize,
    },
    /// The test fraction is not strictly between 0 and 1 (or is NaN).
    Fraction {
        /// The fraction given.
        test_fraction: f64,
    },
    /// The training or the test set would have no samples.
    EmptyPart {
        /// The number of samples.
        samples: usize,
        /// The fraction given.
        test_fraction: f64,
    },
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RowMismatch { what, inputs, rows } => write!(
                f,
                "there are {inputs} inputs but {rows} {what}s; give one {what} per input"
            ),
            Self::Fraction { test_fraction } => write!(
                f,
                "the test fraction is {test_fraction}; it must be above 0 and below 1"
            ),
            Self::EmptyPart {
                samples,
                test_fraction,
            } => write!(
                f,
                "a test fraction of {test_fraction} of {samples} samples leaves the training \
                 or the test set empty; use more samples or another fraction"
            ),
        }
    }
}

impl core::error::Error for SplitError {}
