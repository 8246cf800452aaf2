//! Which class a row predicts, and how often that is right: [`argmax`],
//! [`accuracy`] and a [`ConfusionMatrix`]. None of them allocates.

use core::fmt;

use crate::{BatchError, Float};

/// The index of the largest value of `row`, the first one on ties: the
/// class a row of probabilities or logits predicts.
///
/// A NaN counts as larger than every number, so the index of the first
/// NaN is returned, as `numpy.argmax` and `torch.argmax` do: a row that
/// went wrong predicts a class that is, most likely, wrong, rather than
/// hiding among the good ones. `−∞` and `+∞` compare as numbers.
///
/// The row must have at least one value; a `[T; 0]` is a compile error.
///
/// ```
/// use backprop::data::argmax;
///
/// assert_eq!(argmax(&[0.1_f32, 0.7, 0.2]), 1);
/// assert_eq!(argmax(&[3.0_f32, 1.0, 3.0]), 0); // the first of two maxima
/// assert_eq!(argmax(&[1.0_f32, f32::NAN, 5.0, f32::NAN]), 1); // the first NaN
/// assert_eq!(argmax(&[f32::NEG_INFINITY; 2]), 0);
/// ```
#[must_use]
pub fn argmax<T: Float, const K: usize>(row: &[T; K]) -> usize {
    const { assert!(K > 0, "argmax of a row of no values") };
    let mut best = 0;
    for (index, &value) in row.iter().enumerate().skip(1) {
        let current = row[best];
        if is_nan(current) {
            break;
        }
        // `value > current` is false for a NaN `value`: test for it apart.
        if is_nan(value) || value > current {
            best = index;
        }
    }
    best
}

/// NaN is the one value not comparable with itself.
fn is_nan<T: Float>(value: T) -> bool {
    value.partial_cmp(&value).is_none()
}

/// The fraction of rows of `outputs` whose [`argmax`] is that of the same
/// row of `targets`: the accuracy of a classifier's outputs against one-hot
/// (or probability) target rows.
///
/// ```
/// use backprop::data::accuracy;
/// use backprop::one_hot;
///
/// let outputs = [[0.9_f32, 0.1], [0.4, 0.6], [0.8, 0.2], [0.3, 0.7]];
/// let targets: [[f32; 2]; 4] = [one_hot(0), one_hot(1), one_hot(1), one_hot(1)];
/// assert_eq!(accuracy(&outputs, &targets)?, 0.75);
/// # Ok::<(), backprop::BatchError>(())
/// ```
///
/// # Errors
///
/// [`BatchError::RowMismatch`] if the slices differ in length and
/// [`BatchError::Empty`] if they have no rows, whose accuracy is undefined.
pub fn accuracy<T: Float, const K: usize>(
    outputs: &[[T; K]],
    targets: &[[T; K]],
) -> Result<f64, BatchError> {
    check_rows(outputs.len(), targets.len())?;
    let correct = outputs
        .iter()
        .zip(targets)
        .filter(|(output, target)| argmax(output) == argmax(target))
        .count();
    Ok(correct as f64 / outputs.len() as f64)
}

fn check_rows(outputs: usize, targets: usize) -> Result<(), BatchError> {
    if outputs != targets {
        return Err(BatchError::RowMismatch {
            what: "target",
            inputs: outputs,
            rows: targets,
        });
    }
    if outputs == 0 {
        return Err(BatchError::Empty);
    }
    Ok(())
}

/// How often each of `K` classes was predicted as each: `count(truth,
/// predicted)`, a row per true class and a column per predicted class, as
/// scikit-learn's `confusion_matrix` lays it out.
///
/// ```
/// use backprop::data::ConfusionMatrix;
///
/// let mut matrix = ConfusionMatrix::<3>::new();
/// for (truth, predicted) in [(0, 0), (0, 0), (1, 1), (1, 2), (2, 2), (2, 1), (2, 2)] {
///     matrix.add(truth, predicted)?;
/// }
/// assert_eq!(matrix.count(2, 1), 1);
/// assert_eq!(matrix.total(), 7);
/// assert_eq!(matrix.accuracy(), Some(5.0 / 7.0));
/// assert_eq!(matrix.recall(2), Some(2.0 / 3.0)); // of three 2s, two were found
/// assert_eq!(matrix.precision(1), Some(0.5)); // of two predicted 1s, one was right
/// print!("{}", matrix.labelled(&["cat", "dog", "emu"]));
/// # Ok::<(), backprop::BatchError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfusionMatrix<const K: usize> {
    counts: [[usize; K]; K],
}

impl<const K: usize> Default for ConfusionMatrix<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const K: usize> ConfusionMatrix<K> {
    /// A matrix of no samples.
    ///
    /// ```
    /// use backprop::data::ConfusionMatrix;
    ///
    /// assert_eq!(ConfusionMatrix::<4>::new().total(), 0);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            counts: [[0; K]; K],
        }
    }

    /// The matrix of a classifier's `outputs` against one-hot (or
    /// probability) `targets`: each row's class is its [`argmax`].
    ///
    /// ```
    /// use backprop::data::ConfusionMatrix;
    ///
    /// let outputs = [[0.9_f32, 0.1], [0.4, 0.6], [0.8, 0.2]];
    /// let targets = [[1.0_f32, 0.0], [0.0, 1.0], [0.0, 1.0]];
    /// let matrix = ConfusionMatrix::from_rows(&outputs, &targets)?;
    /// assert_eq!(matrix.counts(), &[[1, 0], [1, 1]]);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`accuracy`]: the slices must have the same number of rows, at
    /// least one.
    pub fn from_rows<T: Float>(outputs: &[[T; K]], targets: &[[T; K]]) -> Result<Self, BatchError> {
        check_rows(outputs.len(), targets.len())?;
        let mut matrix = Self::new();
        for (output, target) in outputs.iter().zip(targets) {
            matrix.counts[argmax(target)][argmax(output)] += 1;
        }
        Ok(matrix)
    }

    /// The matrix of predicted class labels against true ones.
    ///
    /// ```
    /// use backprop::data::ConfusionMatrix;
    /// use backprop::BatchError;
    ///
    /// let matrix = ConfusionMatrix::<2>::from_labels(&[0, 1, 1], &[0, 1, 0])?;
    /// assert_eq!(matrix.counts(), &[[1, 1], [0, 1]]);
    ///
    /// let error = ConfusionMatrix::<2>::from_labels(&[0, 2], &[0, 1]).unwrap_err();
    /// assert_eq!(error, BatchError::Label { row: 1, label: 2, classes: 2 });
    /// # Ok::<(), BatchError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`BatchError::RowMismatch`] if the slices differ in length,
    /// [`BatchError::Empty`] if they have no rows and [`BatchError::Label`]
    /// at the first label that is not below `K`; the matrix is then not
    /// made.
    pub fn from_labels(predicted: &[usize], truth: &[usize]) -> Result<Self, BatchError> {
        check_rows(predicted.len(), truth.len())?;
        let mut matrix = Self::new();
        for (row, (&predicted, &truth)) in predicted.iter().zip(truth).enumerate() {
            for label in [predicted, truth] {
                if label >= K {
                    return Err(BatchError::Label {
                        row,
                        label,
                        classes: K,
                    });
                }
            }
            matrix.counts[truth][predicted] += 1;
        }
        Ok(matrix)
    }

    /// Counts one sample of class `truth` predicted as `predicted`.
    ///
    /// ```
    /// use backprop::data::ConfusionMatrix;
    ///
    /// let mut matrix = ConfusionMatrix::<2>::new();
    /// matrix.add(1, 0)?;
    /// assert_eq!(matrix.count(1, 0), 1);
    /// assert!(matrix.add(2, 0).is_err());
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`BatchError::Label`] (with row 0) if a label is not below `K`; the
    /// matrix is then unchanged.
    pub fn add(&mut self, truth: usize, predicted: usize) -> Result<(), BatchError> {
        for label in [truth, predicted] {
            if label >= K {
                return Err(BatchError::Label {
                    row: 0,
                    label,
                    classes: K,
                });
            }
        }
        self.counts[truth][predicted] += 1;
        Ok(())
    }

    /// The samples of class `truth` predicted as `predicted` (0 for a
    /// label not below `K`).
    ///
    /// ```
    /// use backprop::data::ConfusionMatrix;
    ///
    /// let matrix = ConfusionMatrix::<2>::from_labels(&[1, 1], &[0, 1])?;
    /// assert_eq!((matrix.count(0, 1), matrix.count(0, 0), matrix.count(5, 5)), (1, 0, 0));
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[must_use]
    pub fn count(&self, truth: usize, predicted: usize) -> usize {
        self.counts
            .get(truth)
            .and_then(|row| row.get(predicted))
            .copied()
            .unwrap_or(0)
    }

    /// Every count: `counts()[truth][predicted]`.
    ///
    /// ```
    /// use backprop::data::ConfusionMatrix;
    ///
    /// let matrix = ConfusionMatrix::<2>::from_labels(&[0, 0], &[0, 1])?;
    /// assert_eq!(matrix.counts(), &[[1, 0], [1, 0]]);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[must_use]
    pub const fn counts(&self) -> &[[usize; K]; K] {
        &self.counts
    }

    /// The number of samples counted.
    ///
    /// ```
    /// use backprop::data::ConfusionMatrix;
    ///
    /// assert_eq!(ConfusionMatrix::<3>::from_labels(&[0, 1, 2], &[2, 1, 0])?.total(), 3);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[must_use]
    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    /// The fraction of samples predicted as their own class (the diagonal
    /// over the total), `None` for no samples.
    ///
    /// ```
    /// use backprop::data::ConfusionMatrix;
    ///
    /// let matrix = ConfusionMatrix::<2>::from_labels(&[0, 1, 1, 1], &[0, 1, 0, 1])?;
    /// assert_eq!(matrix.accuracy(), Some(0.75));
    /// assert_eq!(ConfusionMatrix::<2>::new().accuracy(), None);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[must_use]
    pub fn accuracy(&self) -> Option<f64> {
        let correct: usize = (0..K).map(|class| self.counts[class][class]).sum();
        ratio(correct, self.total())
    }

    /// Of the samples predicted as `class`, the fraction that are of it:
    /// `count(class, class)` over column `class`'s sum. `None` when nothing
    /// was predicted as `class` (scikit-learn reports 0 there, with a
    /// warning) or `class` is not below `K`.
    ///
    /// ```
    /// use backprop::data::ConfusionMatrix;
    ///
    /// // Class 1 predicted three times, right twice; class 2 never predicted.
    /// let matrix = ConfusionMatrix::<3>::from_labels(&[1, 1, 1, 0], &[1, 0, 1, 2])?;
    /// assert_eq!(matrix.precision(1), Some(2.0 / 3.0));
    /// assert_eq!(matrix.precision(2), None);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[must_use]
    pub fn precision(&self, class: usize) -> Option<f64> {
        let predicted = self
            .counts
            .iter()
            .map(|row| row.get(class))
            .sum::<Option<usize>>()?;
        ratio(self.count(class, class), predicted)
    }

    /// Of the samples of `class`, the fraction predicted as it:
    /// `count(class, class)` over row `class`'s sum. `None` when no sample
    /// is of `class` or `class` is not below `K`.
    ///
    /// ```
    /// use backprop::data::ConfusionMatrix;
    ///
    /// let matrix = ConfusionMatrix::<3>::from_labels(&[1, 1, 1, 0], &[1, 0, 1, 2])?;
    /// assert_eq!(matrix.recall(1), Some(1.0));
    /// assert_eq!(matrix.recall(2), Some(0.0));
    /// assert_eq!(ConfusionMatrix::<3>::new().recall(0), None);
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[must_use]
    pub fn recall(&self, class: usize) -> Option<f64> {
        let actual = self.counts.get(class)?.iter().sum();
        ratio(self.count(class, class), actual)
    }

    /// The matrix as a table whose rows and columns are named `labels`
    /// (the [`Display`](fmt::Display) of the matrix itself numbers them).
    ///
    /// ```
    /// use backprop::data::ConfusionMatrix;
    ///
    /// let matrix = ConfusionMatrix::<2>::from_labels(&[0, 1, 1], &[0, 1, 0])?;
    /// let table = matrix.labelled(&["no", "yes"]).to_string();
    /// assert_eq!(table.lines().next(), Some("true \\ predicted      no     yes  recall"));
    /// # Ok::<(), backprop::BatchError>(())
    /// ```
    #[must_use]
    pub const fn labelled<'a>(&'a self, labels: &'a [&'a str; K]) -> Labelled<'a, K> {
        Labelled {
            matrix: self,
            labels: Some(labels),
        }
    }
}

fn ratio(numerator: usize, denominator: usize) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// A table: one row per true class, with its recall; one column per
/// predicted class, with its precision below; classes numbered from 0.
///
/// ```
/// use backprop::data::ConfusionMatrix;
///
/// let matrix = ConfusionMatrix::<2>::from_labels(&[0, 1, 1], &[0, 1, 0])?;
/// assert_eq!(
///     matrix.to_string(),
///     "true \\ predicted       0       1  recall\n\
///      0                      1       1   50.0%\n\
///      1                      0       1  100.0%\n\
///      precision         100.0%   50.0%\n"
/// );
/// # Ok::<(), backprop::BatchError>(())
/// ```
impl<const K: usize> fmt::Display for ConfusionMatrix<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Labelled {
            matrix: self,
            labels: None,
        }
        .fmt(f)
    }
}

/// A [`ConfusionMatrix`] shown with its classes' names, from
/// [`ConfusionMatrix::labelled`].
///
/// ```
/// use backprop::data::ConfusionMatrix;
///
/// let matrix = ConfusionMatrix::<2>::from_labels(&[1, 1], &[0, 1])?;
/// let table = matrix.labelled(&["cold", "hot"]).to_string();
/// assert!(table.lines().nth(1).unwrap().starts_with("cold "));
/// assert!(table.lines().nth(2).unwrap().starts_with("hot "));
/// # Ok::<(), backprop::BatchError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Labelled<'a, const K: usize> {
    matrix: &'a ConfusionMatrix<K>,
    labels: Option<&'a [&'a str; K]>,
}

impl<const K: usize> fmt::Display for Labelled<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const CORNER: &str = "true \\ predicted";
        const PRECISION: &str = "precision";
        /// The width of `100.0%`.
        const PERCENT: usize = 6;
        let label = |class: usize| Label {
            class,
            name: self.labels.map(|labels| labels[class]),
        };
        let label_width = (0..K).map(|c| label(c).width()).max().unwrap_or(0);
        let first = label_width.max(CORNER.len());
        // Each column is as wide as its label, its largest count and a
        // precision (`100.0%`), so that every row lines up.
        let width = |class: usize| {
            let count = (0..K)
                .map(|t| self.matrix.counts[t][class])
                .max()
                .unwrap_or(0);
            label(class).width().max(digits(count)).max(PERCENT)
        };

        write!(f, "{CORNER:<first$}")?;
        for class in 0..K {
            write!(f, "  {:>w$}", label(class), w = width(class))?;
        }
        writeln!(f, "  {:>PERCENT$}", "recall")?;
        for truth in 0..K {
            write!(f, "{:<first$}", label(truth))?;
            for predicted in 0..K {
                let count = self.matrix.counts[truth][predicted];
                write!(f, "  {count:>w$}", w = width(predicted))?;
            }
            writeln!(f, "  {:>PERCENT$}", Percent(self.matrix.recall(truth)))?;
        }
        write!(f, "{PRECISION:<first$}")?;
        for class in 0..K {
            write!(
                f,
                "  {:>w$}",
                Percent(self.matrix.precision(class)),
                w = width(class)
            )?;
        }
        f.write_str("\n")
    }
}

/// A class's name, or its number.
struct Label<'a> {
    class: usize,
    name: Option<&'a str>,
}

impl Label<'_> {
    fn width(&self) -> usize {
        self.name
            .map_or_else(|| digits(self.class), |name| name.chars().count())
    }
}

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => f.pad(name),
            None => fmt::Display::fmt(&self.class, f),
        }
    }
}

/// `12.5%`, or `-` for a ratio of nothing.
struct Percent(Option<f64>);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            // Padding applies to the whole, so format into a fixed buffer first.
            Some(ratio) => {
                let mut buffer = Buffer::<16>::new();
                let _ = fmt::write(&mut buffer, format_args!("{:.1}%", 100.0 * ratio));
                f.pad(buffer.as_str())
            }
            None => f.pad("-"),
        }
    }
}

fn digits(mut n: usize) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

/// Text of at most `N` bytes, written without an allocator.
struct Buffer<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Buffer<N> {
    const fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole `str`s are ever written (see `write_str`).
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for Buffer<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
