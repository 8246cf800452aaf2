//! The data helpers against values worked out by hand (or as numpy and
//! scikit-learn compute them, written here as numbers): CSV tables and every
//! way a file can be wrong, standardisation, seeded splits, argmax, accuracy
//! and the confusion matrix; and a standardiser saved with the weights, whose
//! failed loads leave the network and the standardiser as they were, bit for
//! bit.

// Exact comparisons are the point where the expected values are exact.
#![allow(clippy::float_cmp)]

use std::fs;
use std::path::PathBuf;

use approx::assert_relative_eq;
use backprop::data::{
    ConfusionMatrix, CsvErrorKind, Split, SplitError, Standardiser, StandardiserError, Table,
    accuracy, argmax, split, split_stratified,
};
use backprop::io::safetensors::tensor::TensorView;
use backprop::io::safetensors::{self, Dtype, SafeTensors};
use backprop::io::{self, STANDARDISER_MEAN, STANDARDISER_SCALE, WeightsError};
use backprop::{BatchError, Network};

mod common;

use common::temp_dir::TempDir;

backprop::network! {
    /// Three inputs, as the standardisers below.
    Net = 3 -> tanh(4) -> linear(2); loss = mse
}

// ---------------------------------------------------------------- argmax

#[test]
fn argmax_takes_the_first_of_equal_maxima() {
    assert_eq!(argmax(&[0.5_f32]), 0);
    assert_eq!(argmax(&[-1.0_f32, -0.5, -3.0]), 1);
    assert_eq!(argmax(&[2.0_f64, 7.0, 7.0, 1.0]), 1);
    assert_eq!(argmax(&[0.0_f32, -0.0]), 0); // -0 == 0: a tie
    assert_eq!(argmax(&[f32::NEG_INFINITY, f32::MIN]), 1);
    assert_eq!(argmax(&[1.0_f32, f32::INFINITY, f32::INFINITY]), 1);
}

#[test]
fn argmax_returns_the_first_nan_as_numpy_does() {
    // numpy.argmax([1, nan, 5, nan]) == 1; numpy.argmax([nan, 9]) == 0.
    assert_eq!(argmax(&[1.0_f32, f32::NAN, 5.0, f32::NAN]), 1);
    assert_eq!(argmax(&[f64::NAN, 9.0]), 0);
    assert_eq!(argmax(&[3.0_f64, 9.0, f64::NAN]), 2);
}

// ---------------------------------------------------------------- accuracy

#[test]
fn accuracy_counts_rows_whose_argmax_matches() {
    let outputs = [
        [0.1_f32, 0.8, 0.1], // 1
        [0.6, 0.3, 0.1],     // 0
        [0.2, 0.2, 0.6],     // 2
        [0.5, 0.5, 0.0],     // 0 (tie)
        [0.0, 0.1, 0.9],     // 2
    ];
    let targets = [
        [0.0, 1.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [1.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
    ];
    // Rows 0, 2 and 3 are right: 3 of 5.
    assert_relative_eq!(accuracy(&outputs, &targets).unwrap(), 0.6);
}

#[test]
fn accuracy_refuses_mismatched_or_empty_slices() {
    let one = [[1.0_f32, 0.0]];
    assert_eq!(
        accuracy(&one, &[]),
        Err(BatchError::RowMismatch {
            what: "target",
            inputs: 1,
            rows: 0
        })
    );
    assert_eq!(accuracy::<f32, 2>(&[], &[]), Err(BatchError::Empty));
}

// ---------------------------------------------------------------- confusion matrix

/// scikit-learn's `confusion_matrix` example: `y_true = [2, 0, 2, 2, 0, 1]`,
/// `y_pred = [0, 0, 2, 2, 0, 2]`.
fn sklearn_example() -> ConfusionMatrix<3> {
    ConfusionMatrix::from_labels(&[0, 0, 2, 2, 0, 2], &[2, 0, 2, 2, 0, 1]).unwrap()
}

#[test]
fn confusion_matrix_matches_scikit_learn() {
    let matrix = sklearn_example();
    // confusion_matrix(y_true, y_pred) == [[2, 0, 0], [0, 0, 1], [1, 0, 2]]
    assert_eq!(matrix.counts(), &[[2, 0, 0], [0, 0, 1], [1, 0, 2]]);
    assert_eq!(matrix.total(), 6);
    assert_relative_eq!(matrix.accuracy().unwrap(), 4.0 / 6.0);
    // precision_score(average=None) == [2/3, 0 (undefined), 2/3]
    assert_relative_eq!(matrix.precision(0).unwrap(), 2.0 / 3.0);
    assert_eq!(matrix.precision(1), None);
    assert_relative_eq!(matrix.precision(2).unwrap(), 2.0 / 3.0);
    // recall_score(average=None) == [1, 0, 2/3]
    assert_relative_eq!(matrix.recall(0).unwrap(), 1.0);
    assert_relative_eq!(matrix.recall(1).unwrap(), 0.0);
    assert_relative_eq!(matrix.recall(2).unwrap(), 2.0 / 3.0);
    assert_eq!((matrix.precision(3), matrix.recall(3)), (None, None));
}

#[test]
fn confusion_matrix_from_rows_uses_each_rows_argmax() {
    let outputs = [[0.9_f32, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]];
    let targets = [[1.0_f32, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]];
    let matrix = ConfusionMatrix::from_rows(&outputs, &targets).unwrap();
    assert_eq!(matrix.counts(), &[[1, 1], [1, 1]]);
    assert_eq!(
        ConfusionMatrix::<2>::from_rows(&outputs, &targets[..3]),
        Err(BatchError::RowMismatch {
            what: "target",
            inputs: 4,
            rows: 3
        })
    );
}

#[test]
fn confusion_matrix_refuses_labels_out_of_range_and_changes_nothing() {
    assert_eq!(
        ConfusionMatrix::<3>::from_labels(&[0, 1, 3], &[0, 1, 2]),
        Err(BatchError::Label {
            row: 2,
            label: 3,
            classes: 3
        })
    );
    assert_eq!(
        ConfusionMatrix::<3>::from_labels(&[0], &[]),
        Err(BatchError::RowMismatch {
            what: "target",
            inputs: 1,
            rows: 0
        })
    );
    let mut matrix = sklearn_example();
    assert!(matrix.add(0, 3).is_err());
    assert!(matrix.add(7, 0).is_err());
    assert_eq!(matrix, sklearn_example());
    matrix.add(1, 1).unwrap();
    assert_eq!(matrix.count(1, 1), 1);
}

#[test]
fn confusion_matrix_displays_as_a_table() {
    let matrix = sklearn_example();
    let expected = "\
true \\ predicted     0     1     2  recall
setosa                2     0     0  100.0%
versicolor            0     0     1    0.0%
virginica             1     0     2   66.7%
precision         66.7%     -  66.7%
";
    let labels = ["setosa", "versicolor", "virginica"];
    // Each count column is as wide as `100.0%` or its label, whichever is wider.
    let shown = matrix.labelled(&labels).to_string();
    let widths: Vec<usize> = shown.lines().map(str::len).collect();
    assert_eq!(shown.lines().count(), 5);
    assert!(
        widths[..4].iter().all(|&w| w == widths[0]),
        "rows of one width:\n{shown}"
    );
    let mut rows = shown.lines().skip(1);
    assert_eq!(
        rows.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["setosa", "2", "0", "0", "100.0%"]
    );
    assert_eq!(
        rows.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["versicolor", "0", "0", "1", "0.0%"]
    );
    assert_eq!(
        rows.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["virginica", "1", "0", "2", "66.7%"]
    );
    assert_eq!(
        rows.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["precision", "66.7%", "-", "66.7%"]
    );
    // The same words, numbered rather than named.
    let numbered = matrix.to_string();
    assert_eq!(
        numbered
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["true", "\\", "predicted", "0", "1", "2", "recall"]
    );
    assert_eq!(
        expected
            .lines()
            .map(|line| line.split_whitespace().skip(1).collect::<Vec<_>>())
            .skip(1)
            .collect::<Vec<_>>(),
        numbered
            .lines()
            .map(|line| line.split_whitespace().skip(1).collect::<Vec<_>>())
            .skip(1)
            .collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------- standardiser

#[test]
fn standardiser_fits_mean_and_population_deviation() {
    let rows = [
        [1.0_f64, -2.0, 5.0],
        [2.0, 0.0, 5.0],
        [4.0, 4.0, 5.0],
        [9.0, 2.0, 5.0],
    ];
    let scaler = Standardiser::fit(&rows).unwrap();
    // Column 0: mean 4, squared deviations 9 + 4 + 0 + 25 = 38 over 4.
    // Column 1: mean 1, squared deviations 9 + 1 + 9 + 1 = 20 over 4.
    // Column 2 is constant: scale 1 (StandardScaler's `scale_`).
    assert_eq!(scaler.mean(), &[4.0, 1.0, 5.0]);
    assert_relative_eq!(scaler.scale()[0], 9.5_f64.sqrt(), max_relative = 1e-15);
    assert_relative_eq!(scaler.scale()[1], 5.0_f64.sqrt(), max_relative = 1e-15);
    assert_eq!(scaler.scale()[2], 1.0);

    let out = scaler.apply(&[9.0, 4.0, 5.0]);
    assert_relative_eq!(out[0], 5.0 / 9.5_f64.sqrt(), max_relative = 1e-15);
    assert_relative_eq!(out[1], 3.0 / 5.0_f64.sqrt(), max_relative = 1e-15);
    assert_eq!(out[2], 0.0);

    // Standardised training rows have mean 0 and variance 1 per column.
    let mut standardised = rows;
    scaler.apply_all(&mut standardised);
    for column in 0..2 {
        let values: Vec<f64> = standardised.iter().map(|row| row[column]).collect();
        let mean = values.iter().sum::<f64>() / 4.0;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
        assert_relative_eq!(mean, 0.0, epsilon = 1e-15);
        assert_relative_eq!(variance, 1.0, max_relative = 1e-14);
    }
    for (row, original) in standardised.iter().zip(&rows) {
        let back = scaler.invert(row);
        for (b, o) in back.iter().zip(original) {
            assert_relative_eq!(b, o, max_relative = 1e-15);
        }
    }
}

#[test]
fn standardiser_keeps_precision_for_f32_columns_far_from_zero() {
    // In f32, 10000.5 and 9999.5 are exact; a one-pass sum of squares in
    // f32 would lose the deviation of 0.5 to cancellation.
    let rows = [[10_000.5_f32], [9_999.5], [10_000.5], [9_999.5]];
    let scaler = Standardiser::fit(&rows).unwrap();
    assert_eq!(scaler.mean(), &[10_000.0]);
    assert_eq!(scaler.scale(), &[0.5]);
}

#[test]
fn standardiser_refuses_empty_and_non_finite_rows() {
    assert_eq!(Standardiser::<f32, 2>::fit(&[]), Err(BatchError::Empty));
    assert_eq!(
        Standardiser::fit(&[[1.0_f32, 2.0], [3.0, f32::INFINITY]]),
        Err(BatchError::NonFinite {
            what: "input",
            row: 1,
            column: 1
        })
    );
    assert!(matches!(
        Standardiser::from_parts([0.0_f64, f64::NAN], [1.0, 1.0]),
        Err(StandardiserError::Mean { column: 1, value }) if value.is_nan()
    ));
    for bad in [0.0, -1.0, f64::INFINITY] {
        assert_eq!(
            Standardiser::from_parts([0.0_f64; 2], [1.0, bad]),
            Err(StandardiserError::Scale {
                column: 1,
                value: bad
            })
        );
    }
    assert!(matches!(
        Standardiser::from_parts([0.0_f64; 2], [f64::NAN, 1.0]),
        Err(StandardiserError::Scale { column: 0, value }) if value.is_nan()
    ));
}

// ---------------------------------------------------------------- split

/// Samples whose input and target both name them, so that every split can
/// be checked to be a partition with targets kept beside their inputs.
fn numbered(n: usize) -> (Vec<[f32; 1]>, Vec<usize>) {
    ((0..n).map(|i| [i as f32]).collect(), (0..n).collect())
}

/// The sample numbers of each part, after checking that each input kept its
/// target and that together the parts hold every sample once.
fn parts(split: &Split<[f32; 1], usize>, n: usize) -> (Vec<usize>, Vec<usize>) {
    for (inputs, targets) in [
        (&split.train_inputs, &split.train_targets),
        (&split.test_inputs, &split.test_targets),
    ] {
        assert_eq!(inputs.len(), targets.len());
        for (x, &y) in inputs.iter().zip(targets) {
            assert_eq!(x[0], y as f32);
        }
    }
    let mut all: Vec<usize> = split
        .train_targets
        .iter()
        .chain(&split.test_targets)
        .copied()
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>());
    (split.train_targets.clone(), split.test_targets.clone())
}

#[test]
fn split_is_a_seeded_partition_with_the_ceiling_of_the_fraction_held_out() {
    let (x, y) = numbered(150);
    // scikit-learn: n_test = ceil(test_size · n): 0.2 → 30, 0.25 → 37.5 → 38,
    // 0.01 → 1.5 → 2, 0.99 → 148.5 → 149.
    for (fraction, test) in [(0.2, 30), (0.25, 38), (0.01, 2), (0.99, 149)] {
        let cut = split(&x, &y, fraction, 11).unwrap();
        let (train_part, test_part) = parts(&cut, 150);
        assert_eq!(
            (train_part.len(), test_part.len()),
            (150 - test, test),
            "{fraction}"
        );
    }
    let a = split(&x, &y, 0.2, 5).unwrap();
    assert_eq!(a, split(&x, &y, 0.2, 5).unwrap(), "same seed, same split");
    let b = split(&x, &y, 0.2, 6).unwrap();
    assert_ne!(
        parts(&a, 150).1,
        parts(&b, 150).1,
        "another seed, another split"
    );
    // Shuffled: the test set is not simply the first or last 30.
    let test_part = parts(&a, 150).1;
    assert_ne!(test_part, (0..30).collect::<Vec<_>>());
    assert_ne!(test_part, (120..150).collect::<Vec<_>>());
}

#[test]
fn split_picks_every_sample_for_the_test_about_equally_often() {
    // 1000 seeds, 20 samples, a quarter held out: each sample is in 250
    // test sets on average, with a binomial spread of about 14.
    let (x, y) = numbered(20);
    let mut counts = [0_usize; 20];
    for seed in 0..1000 {
        for &i in &split(&x, &y, 0.25, seed).unwrap().test_targets {
            counts[i] += 1;
        }
    }
    assert!(
        counts.iter().all(|&c| (180..=320).contains(&c)),
        "{counts:?}"
    );
}

#[test]
fn split_refuses_bad_fractions_mismatched_rows_and_empty_parts() {
    let (x, y) = numbered(10);
    for fraction in [0.0, 1.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(split(&x, &y, fraction, 0), Err(SplitError::Fraction { .. })),
            "{fraction}"
        );
    }
    assert_eq!(
        split(&x, &y[..9], 0.5, 0),
        Err(SplitError::RowMismatch {
            what: "target",
            inputs: 10,
            rows: 9
        })
    );
    // ⌈0.95 · 10⌉ = 10: nothing left to train on.
    assert_eq!(
        split(&x, &y, 0.95, 0),
        Err(SplitError::EmptyPart {
            samples: 10,
            test_fraction: 0.95
        })
    );
    assert!(matches!(
        split::<[f32; 1], usize>(&[], &[], 0.5, 0),
        Err(SplitError::EmptyPart { samples: 0, .. })
    ));
    assert_eq!(
        split_stratified(&x, &y, &[0; 3], 0.5, 0),
        Err(SplitError::RowMismatch {
            what: "label",
            inputs: 10,
            rows: 3
        })
    );
}

#[test]
fn stratified_split_keeps_each_class_share() {
    // 60 of class 0, 30 of class 2 and 10 of class 7 (labels need not be
    // consecutive): 20% is exactly 12, 6 and 2.
    let labels: Vec<usize> = (0..100)
        .map(|i| match i % 10 {
            0 => 7,
            1..=3 => 2,
            _ => 0,
        })
        .collect();
    let (x, y) = numbered(100);
    for seed in 0..20 {
        let cut = split_stratified(&x, &y, &labels, 0.2, seed).unwrap();
        let (_, test_part) = parts(&cut, 100);
        let count = |class| test_part.iter().filter(|&&i| labels[i] == class).count();
        assert_eq!((count(0), count(2), count(7)), (12, 6, 2), "seed {seed}");
    }
    let a = split_stratified(&x, &y, &labels, 0.2, 3).unwrap();
    assert_eq!(a, split_stratified(&x, &y, &labels, 0.2, 3).unwrap());
    assert_ne!(a, split_stratified(&x, &y, &labels, 0.2, 4).unwrap());
}

#[test]
fn stratified_split_gives_the_remainder_to_the_largest_fractions() {
    let (x, y) = numbered(10);
    // 5 and 5 at 30%: 1.5 each; ⌈3⌉ = 3 in all; the tie goes to class 0.
    let labels = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1];
    let cut = split_stratified(&x, &y, &labels, 0.3, 1).unwrap();
    let count = |class| {
        cut.test_targets
            .iter()
            .filter(|&&i| labels[i] == class)
            .count()
    };
    assert_eq!((count(0), count(1)), (2, 1));
    // 7 and 3 at 40%: 2.8 and 1.2; 4 in all: 2 + 1 and the fourth to 0.8.
    let labels = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1];
    let cut = split_stratified(&x, &y, &labels, 0.4, 1).unwrap();
    let count = |class| {
        cut.test_targets
            .iter()
            .filter(|&&i| labels[i] == class)
            .count()
    };
    assert_eq!((count(0), count(1)), (3, 1));
}

// ---------------------------------------------------------------- CSV tables

fn table<const N: usize>(
    csv: &str,
    target: &str,
    classes: Option<&[&str]>,
) -> Result<Table<f32, N>, backprop::data::CsvError> {
    Table::from_reader(csv.as_bytes(), target, classes)
}

#[test]
fn table_reads_inputs_labels_and_classes() {
    let csv = "\
a, species ,b
1.5,setosa,-2
\"2.25\", virginica ,1e3
0,setosa,  7
";
    let t = table::<2>(csv, "species", None).unwrap();
    assert_eq!(t.input_names(), ["a", "b"]);
    assert_eq!(t.inputs(), [[1.5, -2.0], [2.25, 1000.0], [0.0, 7.0]]);
    assert_eq!(t.labels(), [0, 1, 0]);
    assert_eq!(t.classes().names(), ["setosa", "virginica"]);
    assert_eq!(t.len(), 3);
    assert_eq!(
        t.one_hot::<2>().unwrap(),
        [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    );

    // A fixed list of classes gives fixed indices.
    let fixed = table::<2>(csv, "species", Some(&["versicolor", "virginica", "setosa"])).unwrap();
    assert_eq!(fixed.labels(), [2, 1, 2]);
    assert_eq!(fixed.classes().index("versicolor"), Some(0));
    assert_eq!(fixed.one_hot::<3>().unwrap()[0], [0.0, 0.0, 1.0]);
}

#[test]
fn table_reads_the_iris_file() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv");
    let iris = Table::<f32, 4>::read(&path, "species", None).unwrap();
    assert_eq!(iris.len(), 150);
    assert_eq!(
        iris.classes().names(),
        ["setosa", "versicolor", "virginica"]
    );
    for class in 0..3 {
        assert_eq!(iris.labels().iter().filter(|&&l| l == class).count(), 50);
    }
    // The file's second and last lines.
    assert_eq!(iris.inputs()[0], [5.1, 3.5, 1.4, 0.2]);
    assert_eq!(iris.inputs()[149], [5.9, 3.0, 5.1, 1.8]);
    assert_eq!(iris.labels()[149], 2);
}

/// The error's line, column and kind, and its message.
fn refused<const N: usize>(
    csv: &str,
    classes: Option<&[&str]>,
) -> (Option<u64>, Option<(usize, String)>, String, CsvErrorKind) {
    let error = table::<N>(csv, "y", classes).unwrap_err();
    let column = error.column().map(|(i, name)| (i, name.to_owned()));
    let message = error.to_string();
    let line = error.line();
    // `CsvErrorKind` is not `Clone` (it may hold an `io::Error`); rebuild
    // what the tests compare.
    let kind = match error.kind() {
        CsvErrorKind::NotANumber { value } => CsvErrorKind::NotANumber {
            value: value.clone(),
        },
        CsvErrorKind::NonFinite { value } => CsvErrorKind::NonFinite {
            value: value.clone(),
        },
        CsvErrorKind::ColumnCount { expected, found } => CsvErrorKind::ColumnCount {
            expected: *expected,
            found: *found,
        },
        CsvErrorKind::HeaderColumns { found, inputs } => CsvErrorKind::HeaderColumns {
            found: *found,
            inputs: *inputs,
        },
        CsvErrorKind::MissingTarget { target, header } => CsvErrorKind::MissingTarget {
            target: target.clone(),
            header: header.clone(),
        },
        CsvErrorKind::UnknownClass { value, classes } => CsvErrorKind::UnknownClass {
            value: value.clone(),
            classes: classes.clone(),
        },
        CsvErrorKind::DuplicateClass { name } => {
            CsvErrorKind::DuplicateClass { name: name.clone() }
        }
        CsvErrorKind::MissingHeader => CsvErrorKind::MissingHeader,
        CsvErrorKind::NoRows => CsvErrorKind::NoRows,
        CsvErrorKind::Malformed { reason } => CsvErrorKind::Malformed {
            reason: reason.clone(),
        },
        other => panic!("unexpected kind {other:?}"),
    };
    (line, column, message, kind)
}

#[test]
fn a_field_that_is_not_a_number_is_named_by_line_and_column() {
    let (line, column, message, kind) = refused::<2>("a,b,y\n1,2,p\n3,x4,q\n", None);
    assert_eq!(line, Some(3));
    assert_eq!(column, Some((2, "b".to_owned())));
    assert!(matches!(kind, CsvErrorKind::NotANumber { value } if value == "x4"));
    assert_eq!(message, "line 3: column 2 (`b`): `x4` is not a number");

    let (line, column, message, _) = refused::<2>("a,b,y\n1,,p\n", None);
    assert_eq!((line, column), (Some(2), Some((2, "b".to_owned()))));
    assert_eq!(
        message,
        "line 2: column 2 (`b`): the field is empty; every input needs a number"
    );
}

#[test]
fn non_finite_values_are_refused() {
    for value in ["NaN", "inf", "-infinity", "1e39"] {
        let (line, column, message, kind) =
            refused::<2>(&format!("y,a,b\np,1,2\nq,3,{value}\n"), None);
        assert_eq!(line, Some(3), "{value}");
        assert_eq!(column, Some((3, "b".to_owned())));
        assert!(matches!(kind, CsvErrorKind::NonFinite { .. }), "{value}");
        assert!(message.contains("is not a finite number"), "{message}");
    }
}

#[test]
fn rows_and_headers_with_the_wrong_number_of_columns_are_refused() {
    let (line, column, message, kind) = refused::<2>("a,b,y\n1,2,p\n1,2,p,4\n", None);
    assert_eq!((line, column), (Some(3), None));
    assert!(matches!(
        kind,
        CsvErrorKind::ColumnCount {
            expected: 3,
            found: 4
        }
    ));
    assert_eq!(message, "line 3: 4 fields; the header has 3");

    let (line, _, message, kind) = refused::<3>("a,b,y\n1,2,p\n", None);
    assert_eq!(line, Some(1));
    assert!(matches!(
        kind,
        CsvErrorKind::HeaderColumns {
            found: 3,
            inputs: 3
        }
    ));
    assert_eq!(
        message,
        "line 1: the header has 3 columns; a table of 3 inputs and a target needs 4"
    );
}

#[test]
fn a_missing_header_or_target_column_is_refused() {
    let (line, _, message, kind) = refused::<1>("", None);
    assert_eq!(line, None);
    assert!(matches!(kind, CsvErrorKind::MissingHeader));
    assert_eq!(
        message,
        "the CSV is empty; its first row must name the columns"
    );

    // A file without a header: its first row is taken for one.
    let (line, _, message, kind) = refused::<2>("5.1,3.5,setosa\n4.9,3.0,setosa\n", None);
    assert_eq!(line, Some(1));
    assert!(
        matches!(kind, CsvErrorKind::MissingTarget { target, header }
        if target == "y" && header == ["5.1", "3.5", "setosa"])
    );
    assert_eq!(
        message,
        "line 1: the header has no column `y`; it names `5.1`, `3.5`, `setosa` \
         (the first row must be a header naming the columns)"
    );

    let (_, _, message, kind) = refused::<2>("a,b,y\n", None);
    assert!(matches!(kind, CsvErrorKind::NoRows));
    assert_eq!(message, "line 1: the header is followed by no rows");
}

#[test]
fn classes_outside_a_fixed_list_are_refused() {
    let (line, column, message, _) = refused::<1>("a,y\n1,cat\n2,emu\n", Some(&["cat", "dog"]));
    assert_eq!((line, column), (Some(3), Some((2, "y".to_owned()))));
    assert_eq!(
        message,
        "line 3: column 2 (`y`): `emu` is not one of the classes `cat`, `dog`"
    );
    let (line, _, message, _) = refused::<1>("a,y\n1,cat\n2,\n", None);
    assert_eq!(line, Some(3));
    assert_eq!(
        message,
        "line 3: column 2 (`y`): the field is empty; every row needs a class"
    );
    let (_, _, message, kind) = refused::<1>("a,y\n1,cat\n", Some(&["cat", "dog", "cat"]));
    assert!(matches!(kind, CsvErrorKind::DuplicateClass { name } if name == "cat"));
    assert_eq!(
        message,
        "the class `cat` is given twice or is empty; give each class once"
    );
}

#[test]
fn text_that_is_not_utf8_is_refused_with_its_line() {
    let bytes = b"a,y\n1,cat\n2,\xff\xfe\n";
    let error = Table::<f32, 1>::from_reader(&bytes[..], "y", None).unwrap_err();
    assert!(matches!(error.kind(), CsvErrorKind::Malformed { .. }));
    assert_eq!(error.line(), Some(3));
    assert!(
        error.to_string().starts_with("line 3: not valid CSV: "),
        "{error}"
    );
}

#[test]
fn one_hot_rows_of_another_width_are_refused() {
    let t = table::<1>("a,y\n1,p\n2,q\n3,r\n", "y", None).unwrap();
    let error = t.one_hot::<2>().unwrap_err();
    assert!(matches!(
        error.kind(),
        CsvErrorKind::ClassCount {
            classes: 3,
            width: 2
        }
    ));
    assert_eq!(
        error.to_string(),
        "the table has 3 classes but one-hot rows of 2 values were asked for; \
         give the rows one value per class"
    );
}

#[test]
fn errors_reading_a_file_name_it() {
    let dir = TempDir::new("csv");
    let missing = dir.join("missing.csv");
    let error = Table::<f32, 1>::read(&missing, "y", None).unwrap_err();
    assert!(matches!(error.kind(), CsvErrorKind::Io(_)));
    assert_eq!(error.path(), Some(missing.as_path()));
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}: cannot read the CSV: ", missing.display())),
        "{error}"
    );

    let bad = dir.join("bad.csv");
    fs::write(&bad, "a,y\n1,p\n2\n").unwrap();
    let error = Table::<f32, 1>::read(&bad, "y", None).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{}:3: 1 fields; the header has 2", bad.display())
    );
}

// ---------------------------------------------------------------- standardiser in weight files

fn fitted() -> Standardiser<f32, 3> {
    Standardiser::fit(&[[1.0, 10.0, -3.0], [2.0, 30.0, -3.0], [6.0, 20.0, -3.0]]).unwrap()
}

#[test]
fn standardiser_round_trips_through_a_file_with_the_weights() {
    let dir = TempDir::new("round-trip");
    let path = dir.join("net.safetensors");
    let (net, scaler) = (Net::seeded(4), fitted());
    io::save_with_standardiser(&net, &scaler, &path).unwrap();

    let (mut loaded, mut loaded_scaler) = (Net::zeros(), Standardiser::identity());
    io::load_with_standardiser(&mut loaded, &mut loaded_scaler, &path).unwrap();
    assert_eq!(bits(loaded.params()), bits(net.params()));
    assert_eq!(bits(loaded_scaler.mean()), bits(scaler.mean()));
    assert_eq!(bits(loaded_scaler.scale()), bits(scaler.scale()));

    // The file holds the statistics as [3] tensors of the network's dtype.
    let bytes = fs::read(&path).unwrap();
    assert_eq!(bytes, io::to_bytes_with_standardiser(&net, &scaler));
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let scale = file.tensor(STANDARDISER_SCALE).unwrap();
    assert_eq!((scale.dtype(), scale.shape()), (Dtype::F32, &[3][..]));
    let expected: Vec<u8> = scaler
        .scale()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(scale.data(), expected);

    // Plain `load` reads the weights and leaves the statistics alone.
    let mut weights_only = Net::zeros();
    io::load(&mut weights_only, &path).unwrap();
    assert_eq!(bits(weights_only.params()), bits(net.params()));
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// A file's tensors: name, dtype, shape and data.
type Tensors = Vec<(String, Dtype, Vec<usize>, Vec<u8>)>;

/// The tensors of `bytes`, with `change` applied to the list, written again.
fn rewritten(bytes: &[u8], change: impl FnOnce(&mut Tensors)) -> Vec<u8> {
    let file = SafeTensors::deserialize(bytes).unwrap();
    let mut tensors: Tensors = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            (
                name,
                view.dtype(),
                view.shape().to_vec(),
                view.data().to_vec(),
            )
        })
        .collect();
    change(&mut tensors);
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, dtype, shape, data)| {
            (
                name.clone(),
                TensorView::new(*dtype, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    safetensors::serialize(views.iter().map(|(name, view)| (name, view)), None).unwrap()
}

fn replace(
    name: &str,
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
) -> impl FnOnce(&mut Tensors) {
    let name = name.to_owned();
    move |tensors| {
        let tensor = tensors.iter_mut().find(|t| t.0 == name).unwrap();
        *tensor = (name, dtype, shape, data);
    }
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// How a bad file is refused: the error's variant and the start of its message.
struct Refusal {
    what: &'static str,
    bytes: Vec<u8>,
    is_expected: fn(&WeightsError) -> bool,
    message: &'static str,
}

/// The statistics a failed load must leave as they were.
fn scaler_before() -> Standardiser<f32, 3> {
    Standardiser::from_parts([7.0, 8.0, 9.0], [0.5, 0.25, 4.0]).unwrap()
}

#[test]
fn failed_standardiser_loads_change_neither_network_nor_standardiser() {
    for Refusal {
        what,
        bytes,
        is_expected,
        message,
    } in bad_files()
    {
        let (mut net, mut scaler) = (Net::seeded(99), scaler_before());
        let error = io::load_bytes_with_standardiser(&mut net, &mut scaler, &bytes).unwrap_err();
        assert!(is_expected(&error), "{what}: {error:?}");
        assert!(error.to_string().starts_with(message), "{what}: {error}");
        assert_eq!(bits(net.params()), bits(Net::seeded(99).params()), "{what}");
        assert_eq!(bits(scaler.mean()), bits(scaler_before().mean()), "{what}");
        assert_eq!(
            bits(scaler.scale()),
            bits(scaler_before().scale()),
            "{what}"
        );
    }
}

/// Every way a standardiser's file can be refused, with what it is told.
// A table of cases, one after another: long, and no clearer cut in pieces.
#[allow(clippy::too_many_lines)]
fn bad_files() -> Vec<Refusal> {
    let good = io::to_bytes_with_standardiser(&Net::seeded(4), &fitted());
    let weights_only = io::to_bytes(&Net::seeded(4));
    let without_scale = rewritten(&good, |tensors| {
        tensors.retain(|t| t.0 != STANDARDISER_SCALE);
    });
    let short_mean = rewritten(
        &good,
        replace(
            STANDARDISER_MEAN,
            Dtype::F32,
            vec![2],
            f32_bytes(&[0.0, 1.0]),
        ),
    );
    let f64_scale = rewritten(
        &good,
        replace(
            STANDARDISER_SCALE,
            Dtype::F64,
            vec![3],
            [1.0_f64, 2.0, 3.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
    );
    let zero_scale = rewritten(
        &good,
        replace(
            STANDARDISER_SCALE,
            Dtype::F32,
            vec![3],
            f32_bytes(&[1.0, 0.0, 2.0]),
        ),
    );
    let nan_mean = rewritten(
        &good,
        replace(
            STANDARDISER_MEAN,
            Dtype::F32,
            vec![3],
            f32_bytes(&[1.0, 2.0, f32::NAN]),
        ),
    );
    let other_network = io::to_bytes_with_standardiser(
        &backprop::network!(3 -> tanh(5) -> linear(2); loss = mse),
        &fitted(),
    );
    let truncated = &good[..good.len() - 1];

    let refusal = |what, bytes: &[u8], is_expected, message| Refusal {
        what,
        bytes: bytes.to_vec(),
        is_expected,
        message,
    };
    vec![
        refusal(
            "weights only",
            &weights_only,
            |e| matches!(e, WeightsError::MissingStandardiser { name } if *name == STANDARDISER_MEAN),
            "the file has no tensor `standardiser.mean`: it holds weights without a standardiser's \
             statistics (save them with io::save_with_standardiser, or load the weights alone with io::load)",
        ),
        refusal(
            "no scale",
            &without_scale,
            |e| matches!(e, WeightsError::MissingStandardiser { name } if *name == STANDARDISER_SCALE),
            "the file has no tensor `standardiser.scale`",
        ),
        refusal(
            "short mean",
            &short_mean,
            |e| {
                matches!(e, WeightsError::WrongShape { name, found, expected }
                if name == STANDARDISER_MEAN && found == &[2] && expected == &[3])
            },
            "tensor `standardiser.mean` has shape [2]; this network needs [3] \
             (a standardiser has one value per input of the network)",
        ),
        refusal(
            "f64 scale",
            &f64_scale,
            |e| matches!(e, WeightsError::WrongDtype { name, expected: "F32", .. } if name == STANDARDISER_SCALE),
            "tensor `standardiser.scale` has dtype F64; this network needs F32",
        ),
        refusal(
            "zero scale",
            &zero_scale,
            |e| {
                matches!(e, WeightsError::InvalidStandardiser { name, error: StandardiserError::Scale { column: 1, value } }
                if *name == STANDARDISER_SCALE && *value == 0.0)
            },
            "the file's standardiser (`standardiser.scale`) is invalid: \
             the scale of column 1 is 0; a scale must be finite and positive",
        ),
        refusal(
            "NaN mean",
            &nan_mean,
            |e| {
                matches!(e, WeightsError::InvalidStandardiser { name, error: StandardiserError::Mean { column: 2, .. } }
                if *name == STANDARDISER_MEAN)
            },
            "the file's standardiser (`standardiser.mean`) is invalid: the mean of column 2 is NaN",
        ),
        refusal(
            "other network",
            &other_network,
            |e| matches!(e, WeightsError::WrongShape { name, .. } if name == "0.weight"),
            "tensor `0.weight` has shape [5, 3]",
        ),
        refusal(
            "truncated",
            truncated,
            |e| matches!(e, WeightsError::Corrupt { .. }),
            "not a valid safetensors file",
        ),
    ]
}

#[test]
fn failed_standardiser_loads_from_files_change_nothing_and_name_the_file() {
    let dir = TempDir::new("failed-load");
    let path = dir.join("zero-scale.safetensors");
    let good = io::to_bytes_with_standardiser(&Net::seeded(4), &fitted());
    let zero_scale = rewritten(
        &good,
        replace(
            STANDARDISER_SCALE,
            Dtype::F32,
            vec![3],
            f32_bytes(&[1.0, 0.0, 2.0]),
        ),
    );
    fs::write(&path, &zero_scale).unwrap();
    let (mut net, mut scaler) = (Net::seeded(99), scaler_before());
    assert!(io::load_with_standardiser(&mut net, &mut scaler, &path).is_err());
    fs::write(&path, &good[..good.len() - 1]).unwrap();
    let error = io::load_with_standardiser(&mut net, &mut scaler, &path).unwrap_err();
    assert!(matches!(&error, WeightsError::Corrupt { path: Some(p), .. } if p == &path));
    let error = io::load_with_standardiser(&mut net, &mut scaler, dir.join("none")).unwrap_err();
    assert!(matches!(error, WeightsError::Read { .. }));
    assert_eq!(bits(net.params()), bits(Net::seeded(99).params()));
    assert_eq!(bits(scaler.mean()), bits(scaler_before().mean()));
    assert_eq!(bits(scaler.scale()), bits(scaler_before().scale()));
}

#[test]
fn plain_load_still_refuses_tensors_that_are_not_a_standardisers() {
    let good = io::to_bytes_with_standardiser(&Net::seeded(4), &fitted());
    let extra = rewritten(&good, |tensors| {
        tensors.push((
            "standardiser.other".to_owned(),
            Dtype::F32,
            vec![1],
            f32_bytes(&[1.0]),
        ));
    });
    let mut net = Net::seeded(99);
    let error = io::load_bytes(&mut net, &extra).unwrap_err();
    assert!(
        matches!(error, WeightsError::UnexpectedTensor { name, .. } if name == "standardiser.other")
    );
    assert_eq!(bits(net.params()), bits(Net::seeded(99).params()));
}
