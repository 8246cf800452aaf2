//! CSV files of numeric inputs and a class column, read with the
//! [`csv`](https://docs.rs/csv) crate into rows the networks take.

use core::fmt;
use core::str::FromStr;

use std::borrow::ToOwned;
use std::boxed::Box;
use std::io;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;

use crate::{Float, one_hot};

/// A classification data set read from a CSV file: `N` numeric input
/// columns per row, `[T; N]`, and one target column of class names, each
/// mapped to its index in [`Classes`].
///
/// The first row is the header and names the columns. Every column but
/// the target is an input, in the file's order, so the file has exactly
/// `N + 1` columns. Fields are trimmed of surrounding spaces; quoting
/// follows RFC 4180, as the `csv` crate reads it.
///
/// ```
/// use backprop::data::Table;
///
/// let csv = "\
/// length,width,kind
/// 1.5, 0.25,small
/// 7.0, 3.5,large
/// 1.0, 0.5,small
/// ";
/// let table = Table::<f32, 2>::from_reader(csv.as_bytes(), "kind", None)?;
/// assert_eq!((table.len(), table.is_empty()), (3, false));
/// assert_eq!(table.input_names(), ["length", "width"]);
/// assert_eq!(table.inputs(), [[1.5, 0.25], [7.0, 3.5], [1.0, 0.5]]);
/// assert_eq!(table.labels(), [0, 1, 0]); // in the order first met
/// assert_eq!(table.classes().names(), ["small", "large"]);
/// let targets: Vec<[f32; 2]> = table.one_hot()?;
/// assert_eq!(targets[1], [0.0, 1.0]);
/// # Ok::<(), backprop::data::CsvError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Table<T, const N: usize> {
    input_names: Vec<String>,
    inputs: Vec<[T; N]>,
    labels: Vec<usize>,
    classes: Classes,
}

impl<T: Float + FromStr, const N: usize> Table<T, N> {
    /// Reads the CSV file `path`, whose column `target` holds the classes.
    ///
    /// With `classes`, the labels are the indices of those names, and a
    /// name not among them is an error: a fixed order, the same whichever
    /// rows a file holds. Without, the classes are numbered in the order
    /// the file first names them.
    ///
    /// ```
    /// use backprop::data::Table;
    ///
    /// # let dir = std::env::temp_dir().join(format!("backprop-table-doctest-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("points.csv");
    /// std::fs::write(&path, "x,y,side\n0.5,1,left\n2,oops,right\n")?;
    /// let error = Table::<f64, 2>::read(&path, "side", Some(&["left", "right"])).unwrap_err();
    /// assert_eq!((error.line(), error.column()), (Some(3), Some((2, "y"))));
    /// assert_eq!(
    ///     error.to_string(),
    ///     format!("{}:3: column 2 (`y`): `oops` is not a number", path.display())
    /// );
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`CsvError`] naming the file, and where it applies the line and
    /// the column, for every way the file can be wrong ([`CsvErrorKind`]);
    /// bad input is never a panic.
    pub fn read(
        path: impl AsRef<Path>,
        target: &str,
        classes: Option<&[&str]>,
    ) -> Result<Self, CsvError> {
        let path = path.as_ref();
        let file = std::fs::File::open(path)
            .map_err(|error| CsvError::from(CsvErrorKind::Io(error)).at_path(path))?;
        Self::from_reader(io::BufReader::new(file), target, classes)
            .map_err(|error| error.at_path(path))
    }

    /// [`read`](Table::read) from any reader: the bytes of a file, a
    /// string compiled into the program, standard input.
    ///
    /// ```
    /// use backprop::data::{CsvErrorKind, Table};
    ///
    /// let csv = "a,b,class\n1,2,yes\n3,4\n";
    /// let error = Table::<f32, 2>::from_reader(csv.as_bytes(), "class", None).unwrap_err();
    /// assert!(matches!(error.kind(), CsvErrorKind::ColumnCount { expected: 3, found: 2 }));
    /// assert_eq!(error.to_string(), "line 3: 2 fields; the header has 3");
    /// ```
    ///
    /// # Errors
    ///
    /// As [`read`](Table::read), without the file's name.
    pub fn from_reader(
        reader: impl io::Read,
        target: &str,
        classes: Option<&[&str]>,
    ) -> Result<Self, CsvError> {
        let mut known = match classes {
            Some(names) => Classes::fixed(names)?,
            None => Classes::default(),
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(reader);
        let header = reader.headers().map_err(malformed)?.clone();
        if header.is_empty() {
            return Err(CsvErrorKind::MissingHeader.into());
        }
        let header_line = header.position().map_or(1, csv::Position::line);
        let at_header = |kind: CsvErrorKind| CsvError::from(kind).at_line(header_line);
        let Some(target_column) = header.iter().position(|name| name == target) else {
            return Err(at_header(CsvErrorKind::MissingTarget {
                target: target.to_owned(),
                header: header.iter().map(ToOwned::to_owned).collect(),
            }));
        };
        if header.len() != N + 1 {
            return Err(at_header(CsvErrorKind::HeaderColumns {
                found: header.len(),
                inputs: N,
            }));
        }
        let columns = Columns {
            header: &header,
            target: target_column,
            inputs: (0..header.len()).filter(|&c| c != target_column).collect(),
        };

        let (mut inputs, mut labels) = (Vec::new(), Vec::new());
        for record in reader.records() {
            let record = record.map_err(malformed)?;
            let (row, label) = columns.read(&record, &mut known, classes.is_some())?;
            inputs.push(row);
            labels.push(label);
        }
        if inputs.is_empty() {
            return Err(at_header(CsvErrorKind::NoRows));
        }
        Ok(Self {
            input_names: columns
                .inputs
                .iter()
                .map(|&c| header[c].to_owned())
                .collect(),
            inputs,
            labels,
            classes: known,
        })
    }
}

/// Where a table's inputs and target are among a file's columns.
struct Columns<'h> {
    header: &'h csv::StringRecord,
    target: usize,
    inputs: Vec<usize>,
}

impl Columns<'_> {
    /// One record's inputs and class, the class added to `known` unless
    /// the classes are `fixed`.
    fn read<T: Float + FromStr, const N: usize>(
        &self,
        record: &csv::StringRecord,
        known: &mut Classes,
        fixed: bool,
    ) -> Result<([T; N], usize), CsvError> {
        let line = record.position().map_or(0, csv::Position::line);
        let at = |column: usize, kind: CsvErrorKind| {
            let mut error = CsvError::from(kind).at_line(line);
            error.details.column = Some((column + 1, self.header[column].to_owned()));
            error
        };
        if record.len() != self.header.len() {
            let kind = CsvErrorKind::ColumnCount {
                expected: self.header.len(),
                found: record.len(),
            };
            return Err(CsvError::from(kind).at_line(line));
        }
        let mut row = [T::ZERO; N];
        for (value, &column) in row.iter_mut().zip(&self.inputs) {
            let field = &record[column];
            *value = field.parse().map_err(|_| {
                at(
                    column,
                    CsvErrorKind::NotANumber {
                        value: field.to_owned(),
                    },
                )
            })?;
            if !value.is_finite() {
                return Err(at(
                    column,
                    CsvErrorKind::NonFinite {
                        value: field.to_owned(),
                    },
                ));
            }
        }
        let name = &record[self.target];
        let label = match known.index(name) {
            Some(label) => label,
            None if fixed || name.is_empty() => {
                return Err(at(
                    self.target,
                    CsvErrorKind::UnknownClass {
                        value: name.to_owned(),
                        classes: known.names.clone(),
                    },
                ));
            }
            None => {
                known.names.push(name.to_owned());
                known.names.len() - 1
            }
        };
        Ok((row, label))
    }
}

impl<T: Float, const N: usize> Table<T, N> {
    /// The number of rows (never zero: a table without rows is an error).
    #[must_use]
    pub const fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Always `false`.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The input columns' names, in the file's order.
    #[must_use]
    pub fn input_names(&self) -> &[String] {
        &self.input_names
    }

    /// Each row's inputs.
    #[must_use]
    pub fn inputs(&self) -> &[[T; N]] {
        &self.inputs
    }

    /// Each row's class, an index into [`classes`](Table::classes).
    #[must_use]
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The classes' names.
    #[must_use]
    pub const fn classes(&self) -> &Classes {
        &self.classes
    }

    /// Each row's class as a one-hot row of `K` values, for a
    /// `cross_entropy` network's targets. `K` must be the number of
    /// classes.
    ///
    /// ```
    /// use backprop::data::{CsvErrorKind, Table};
    ///
    /// let table = Table::<f32, 1>::from_reader("x,y\n1,a\n2,b\n".as_bytes(), "y", None)?;
    /// assert_eq!(table.one_hot::<2>()?, [[1.0, 0.0], [0.0, 1.0]]);
    /// let error = table.one_hot::<3>().unwrap_err();
    /// assert!(matches!(error.kind(), CsvErrorKind::ClassCount { classes: 2, width: 3 }));
    /// # Ok::<(), backprop::data::CsvError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CsvErrorKind::ClassCount`] if the table has other than `K`
    /// classes.
    pub fn one_hot<const K: usize>(&self) -> Result<Vec<[T; K]>, CsvError> {
        if self.classes.len() != K {
            return Err(CsvErrorKind::ClassCount {
                classes: self.classes.len(),
                width: K,
            }
            .into());
        }
        Ok(self.labels.iter().map(|&label| one_hot(label)).collect())
    }
}

/// The names of a [`Table`]'s classes: class `i` is `names()[i]`.
///
/// ```
/// use backprop::data::Table;
///
/// let csv = "x,species\n1,setosa\n2,virginica\n";
/// let table = Table::<f32, 1>::from_reader(csv.as_bytes(), "species", Some(&["setosa", "versicolor", "virginica"]))?;
/// let classes = table.classes();
/// assert_eq!((classes.len(), classes.index("virginica"), classes.name(1)), (3, Some(2), Some("versicolor")));
/// assert_eq!(classes.names(), ["setosa", "versicolor", "virginica"]);
/// assert_eq!((classes.is_empty(), classes.index("emu"), classes.name(3)), (false, None, None));
/// assert_eq!(table.labels(), [0, 2]);
/// # Ok::<(), backprop::data::CsvError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Classes {
    names: Vec<String>,
}

impl Classes {
    fn fixed(names: &[&str]) -> Result<Self, CsvError> {
        let mut classes = Self::default();
        for &name in names {
            if classes.index(name).is_some() || name.is_empty() {
                return Err(CsvErrorKind::DuplicateClass {
                    name: name.to_owned(),
                }
                .into());
            }
            classes.names.push(name.to_owned());
        }
        Ok(classes)
    }

    /// The number of classes.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none (never, in a [`Table`]).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every class's name, in the order of their indices.
    #[must_use]
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The name of class `index`.
    #[must_use]
    pub fn name(&self, index: usize) -> Option<&str> {
        self.names.get(index).map(String::as_str)
    }

    /// The index of the class named `name`.
    #[must_use]
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|known| known == name)
    }
}

/// Why a CSV file could not be read into a [`Table`]: what is wrong
/// ([`kind`](CsvError::kind)) and where, as far as it applies.
///
/// ```
/// use backprop::data::{CsvErrorKind, Table};
///
/// let error = Table::<f32, 1>::from_reader("x,y\n1,a\nNaN,b\n".as_bytes(), "y", None).unwrap_err();
/// assert!(matches!(error.kind(), CsvErrorKind::NonFinite { .. }));
/// assert_eq!((error.path(), error.line(), error.column()), (None, Some(3), Some((1, "x"))));
/// assert_eq!(error.to_string(), "line 3: column 1 (`x`): `NaN` is not a finite number; inputs must be finite");
/// ```
#[derive(Debug)]
pub struct CsvError {
    // Boxed, so that a `Result` of a table stays small.
    details: Box<Details>,
}

#[derive(Debug)]
struct Details {
    path: Option<PathBuf>,
    line: Option<u64>,
    column: Option<(usize, String)>,
    kind: CsvErrorKind,
}

impl CsvError {
    /// What is wrong.
    #[must_use]
    pub fn kind(&self) -> &CsvErrorKind {
        &self.details.kind
    }

    /// The file, if the table was read from one ([`Table::read`]).
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.details.path.as_deref()
    }

    /// The line, from 1, where the row in question starts.
    #[must_use]
    pub fn line(&self) -> Option<u64> {
        self.details.line
    }

    /// The column, from 1, and its name in the header.
    #[must_use]
    pub fn column(&self) -> Option<(usize, &str)> {
        self.details
            .column
            .as_ref()
            .map(|(index, name)| (*index, name.as_str()))
    }

    fn at_line(mut self, line: u64) -> Self {
        self.details.line = Some(line);
        self
    }

    fn at_path(mut self, path: &Path) -> Self {
        self.details.path = Some(path.to_path_buf());
        self
    }
}

impl From<CsvErrorKind> for CsvError {
    fn from(kind: CsvErrorKind) -> Self {
        Self {
            details: Box::new(Details {
                path: None,
                line: None,
                column: None,
                kind,
            }),
        }
    }
}

/// A `csv` crate error, with the line it gives.
fn malformed(error: csv::Error) -> CsvError {
    let line = error.position().map(csv::Position::line);
    let reason = error.to_string();
    let kind = match error.into_kind() {
        csv::ErrorKind::Io(error) => CsvErrorKind::Io(error),
        _ => CsvErrorKind::Malformed { reason },
    };
    let error = CsvError::from(kind);
    match line {
        Some(line) => error.at_line(line),
        None => error,
    }
}

/// What is wrong with a CSV file, in [`CsvError::kind`].
///
/// ```
/// use backprop::data::{CsvErrorKind, Table};
///
/// let error = Table::<f32, 2>::from_reader("a,y\n1,p\n".as_bytes(), "y", None).unwrap_err();
/// assert!(matches!(error.kind(), CsvErrorKind::HeaderColumns { found: 2, inputs: 2 }));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum CsvErrorKind {
    /// The file could not be opened or read.
    Io(io::Error),
    /// The bytes are not CSV the `csv` crate reads, such as text that is
    /// not UTF-8.
    Malformed {
        /// The `csv` crate's words.
        reason: String,
    },
    /// The input is empty: there is no header row.
    MissingHeader,
    /// The header names no column `target`.
    MissingTarget {
        /// The target column asked for.
        target: String,
        /// The header's names.
        header: Vec<String>,
    },
    /// The header has other than one column per input and the target.
    HeaderColumns {
        /// Its columns.
        found: usize,
        /// The table's inputs, `N`.
        inputs: usize,
    },
    /// A row has other than the header's number of fields.
    ColumnCount {
        /// The header's columns.
        expected: usize,
        /// The row's fields.
        found: usize,
    },
    /// An input field is not a number (or is empty).
    NotANumber {
        /// The field.
        value: String,
    },
    /// An input field is NaN or infinite.
    NonFinite {
        /// The field.
        value: String,
    },
    /// A target field is not one of the classes given (or is empty).
    UnknownClass {
        /// The field.
        value: String,
        /// The classes.
        classes: Vec<String>,
    },
    /// A class was given twice, or empty, in the list of classes.
    DuplicateClass {
        /// The name.
        name: String,
    },
    /// The header is followed by no rows.
    NoRows,
    /// One-hot rows of another width than the number of classes were asked for.
    ClassCount {
        /// The table's classes.
        classes: usize,
        /// The one-hot rows' width.
        width: usize,
    },
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let details = &self.details;
        match (&details.path, details.line) {
            (Some(path), Some(line)) => write!(f, "{}:{line}: ", path.display())?,
            (Some(path), None) => write!(f, "{}: ", path.display())?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        if let Some((index, name)) = &details.column {
            write!(f, "column {index} (`{name}`): ")?;
        }
        fmt::Display::fmt(&details.kind, f)
    }
}

impl fmt::Display for CsvErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "cannot read the CSV: {error}"),
            Self::Malformed { reason } => write!(f, "not valid CSV: {reason}"),
            Self::MissingHeader => {
                f.write_str("the CSV is empty; its first row must name the columns")
            }
            Self::MissingTarget { target, header } => {
                write!(f, "the header has no column `{target}`; it names ")?;
                for (i, name) in header.iter().enumerate() {
                    let separator = if i == 0 { "" } else { ", " };
                    write!(f, "{separator}`{name}`")?;
                }
                f.write_str(" (the first row must be a header naming the columns)")
            }
            Self::HeaderColumns { found, inputs } => write!(
                f,
                "the header has {found} columns; a table of {inputs} inputs and a target needs {}",
                inputs + 1
            ),
            Self::ColumnCount { expected, found } => {
                write!(f, "{found} fields; the header has {expected}")
            }
            Self::NotANumber { value } if value.is_empty() => {
                f.write_str("the field is empty; every input needs a number")
            }
            Self::NotANumber { value } => write!(f, "`{value}` is not a number"),
            Self::NonFinite { value } => {
                write!(f, "`{value}` is not a finite number; inputs must be finite")
            }
            Self::UnknownClass { value, .. } if value.is_empty() => {
                f.write_str("the field is empty; every row needs a class")
            }
            Self::UnknownClass { value, classes } => {
                write!(f, "`{value}` is not one of the classes ")?;
                for (i, name) in classes.iter().enumerate() {
                    let separator = if i == 0 { "" } else { ", " };
                    write!(f, "{separator}`{name}`")?;
                }
                Ok(())
            }
            Self::DuplicateClass { name } => write!(
                f,
                "the class `{name}` is given twice or is empty; give each class once"
            ),
            Self::NoRows => f.write_str("the header is followed by no rows"),
            Self::ClassCount { classes, width } => write!(
                f,
                "the table has {classes} classes but one-hot rows of {width} values were asked for; \
                 give the rows one value per class"
            ),
        }
    }
}

/// No error has a [`source`](std::error::Error::source): the cause of a
/// failed read is in the message, as for `io::WeightsError`.
impl std::error::Error for CsvError {}
