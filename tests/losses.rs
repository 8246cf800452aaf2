//! The batch losses for a loss of your own (`Loss::evaluate` with
//! `Terms`, `cross_entropy_labels`): masks, per-sample weights, `mean` and
//! `sum` reductions, class-index targets and label smoothing reproduce the
//! values and gradients PyTorch recorded (`tools/loss_fixtures.py`), to
//! 1e-12 relative in `f64`, and refuse a malformed batch without touching
//! the gradient.

use std::collections::BTreeMap;

use backprop::BatchError;
use backprop::loss::{
    BceWithLogits, Huber, Loss, Mae, Mse, Reduction, Terms, cross_entropy_labels,
};
use serde::Deserialize;

const COLUMNS: usize = 3;

#[derive(Deserialize)]
struct Case {
    kind: String,
    loss: Option<String>,
    delta: Option<f64>,
    smoothing: Option<f64>,
    reduction: String,
    output: Vec<[f64; COLUMNS]>,
    target: Option<Vec<[f64; COLUMNS]>>,
    labels: Option<Vec<usize>>,
    /// One row of flags per sample: `COLUMNS` for element losses, one for labels.
    mask: Option<serde_json::Value>,
    weights: Option<Vec<f64>>,
    value: f64,
    grad: Vec<[f64; COLUMNS]>,
}

fn cases() -> BTreeMap<String, Case> {
    let path = format!(
        "{}/tests/fixtures/losses/cases.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("the fixture's format")
}

fn reduction(name: &str) -> Reduction {
    match name {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        other => panic!("unknown reduction {other}"),
    }
}

fn assert_close(name: &str, what: &str, ours: f64, theirs: f64) {
    let scale = ours.abs().max(theirs.abs()).max(1e-12);
    assert!(
        (ours - theirs).abs() <= 1e-12 * scale,
        "{name}, {what}: ours {ours}, PyTorch {theirs}"
    );
}

/// Our value and gradient for one recorded case.
fn evaluate(case: &Case) -> (f64, Vec<[f64; COLUMNS]>) {
    let reduction = reduction(&case.reduction);
    let mut grad = vec![[f64::NAN; COLUMNS]; case.output.len()];
    let value = if case.kind == "element" {
        let target = case.target.as_ref().expect("element cases have targets");
        let mask: Option<Vec<[bool; COLUMNS]>> = case
            .mask
            .as_ref()
            .map(|m| serde_json::from_value(m.clone()).expect("a mask row per sample"));
        let mut terms = Terms::new(reduction);
        if let Some(mask) = &mask {
            terms = terms.mask(mask);
        }
        if let Some(weights) = &case.weights {
            terms = terms.weights(weights);
        }
        let (output, grad) = (&case.output[..], Some(&mut grad[..]));
        match (case.loss.as_deref(), case.delta) {
            (Some("mse"), _) => Mse.evaluate(output, target, terms, grad),
            (Some("mae"), _) => Mae.evaluate(output, target, terms, grad),
            (Some("huber"), Some(delta)) => Huber { delta }.evaluate(output, target, terms, grad),
            (Some("bce_logits"), _) => BceWithLogits.evaluate(output, target, terms, grad),
            (other, _) => panic!("unknown loss {other:?}"),
        }
    } else {
        let labels = case.labels.as_ref().expect("label cases have labels");
        let mask: Option<Vec<[bool; 1]>> = case.mask.as_ref().map(|m| {
            let flags: Vec<bool> = serde_json::from_value(m.clone()).expect("a flag per sample");
            flags.into_iter().map(|flag| [flag]).collect()
        });
        let mut terms = Terms::new(reduction);
        if let Some(mask) = &mask {
            terms = terms.mask(mask);
        }
        if let Some(weights) = &case.weights {
            terms = terms.weights(weights);
        }
        let smoothing = case.smoothing.expect("label cases have a smoothing");
        cross_entropy_labels(&case.output, labels, smoothing, terms, Some(&mut grad))
    }
    .expect("a valid batch");
    (value, grad)
}

#[test]
fn batch_losses_equal_pytorchs() {
    let cases = cases();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    for (name, case) in &cases {
        let (value, grad) = evaluate(case);
        assert_close(name, "loss", value, case.value);
        for (r, (ours, theirs)) in grad.iter().zip(&case.grad).enumerate() {
            for c in 0..COLUMNS {
                assert_close(name, &format!("∂L/∂ŷ[{r}][{c}]"), ours[c], theirs[c]);
            }
        }
    }
}

#[test]
fn every_option_is_recorded() {
    let cases = cases();
    let has = |f: &dyn Fn(&Case) -> bool| cases.values().any(f);
    for kind in ["element", "labels"] {
        assert!(has(&|c| c.kind == kind
            && c.mask.is_some()
            && c.weights.is_some()
            && c.reduction == "sum"));
    }
    assert!(has(&|c| c.smoothing.is_some_and(|s| s > 0.0)));
    assert!(has(&|c| c.output.iter().flatten().any(|z| z.abs() > 300.0)));
}

#[test]
fn a_malformed_batch_is_an_error_that_leaves_the_gradient() {
    let output = [[0.5, 1.0], [2.0, -1.0]];
    let target = [[0.0, 1.0], [1.0, 0.0]];
    let mut grad = [[7.0; 2]; 2];
    let short_mask = [[true, false]];
    let terms = Terms::new(Reduction::Mean).mask(&short_mask);
    assert_eq!(
        Mse.evaluate(&output, &target, terms, Some(&mut grad)),
        Err(BatchError::LossRows {
            what: "mask",
            outputs: 2,
            rows: 1
        })
    );
    let weights = [1.0, f64::NAN];
    let terms = Terms::new(Reduction::Mean).weights(&weights);
    assert_eq!(
        Mse.evaluate(&output, &target, terms, Some(&mut grad)),
        Err(BatchError::NonFinite {
            what: "weights",
            row: 1,
            column: 0
        })
    );
    let error = cross_entropy_labels(
        &output,
        &[1, 2],
        0.0,
        Terms::new(Reduction::Mean),
        Some(&mut grad),
    )
    .unwrap_err();
    assert_eq!(
        error,
        BatchError::Label {
            row: 1,
            label: 2,
            classes: 2
        }
    );
    assert_eq!(
        error.to_string(),
        "row 1 has label 2, but there are 2 classes (0 to 1)"
    );
    assert_eq!(
        Mse.evaluate::<f64, 2>(&[], &[], Terms::new(Reduction::Sum), None),
        Err(BatchError::Empty)
    );
    assert_eq!(grad, [[7.0; 2]; 2], "nothing written");
}

#[test]
fn a_mask_that_selects_nothing_gives_zero_not_nan() {
    let output = [[0.5, 1.0]];
    let nothing = [[false, false]];
    let mut grad = [[7.0; 2]];
    let loss = Huber::default()
        .evaluate(
            &output,
            &[[0.0, 0.0]],
            Terms::new(Reduction::Mean).mask(&nothing),
            Some(&mut grad),
        )
        .expect("a valid batch");
    assert_eq!((loss, grad), (0.0, [[0.0; 2]]));
}

#[test]
fn gradients_equal_central_differences() {
    // Away from Huber's and MAE's kinks, in f64: a check that does not rely
    // on PyTorch.
    let output = [[0.3, -1.7, 2.2], [-0.4, 0.05, 1.1]];
    let target = [[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]];
    let mask = [[true, false, true], [true, true, false]];
    let weights = [0.7, 1.9];
    let terms = Terms::new(Reduction::Mean).mask(&mask).weights(&weights);
    let value = |o: &[[f64; 3]; 2]| {
        Huber { delta: 0.5 }
            .evaluate(o, &target, terms, None)
            .unwrap()
    };
    let mut grad = [[0.0; 3]; 2];
    Huber { delta: 0.5 }
        .evaluate(&output, &target, terms, Some(&mut grad))
        .unwrap();
    let labels = [2, 0];
    let row_terms = Terms::new(Reduction::Sum).weights(&weights);
    let ce = |z: &[[f64; 3]; 2]| cross_entropy_labels(z, &labels, 0.2, row_terms, None).unwrap();
    let mut ce_grad = [[0.0; 3]; 2];
    cross_entropy_labels(&output, &labels, 0.2, row_terms, Some(&mut ce_grad)).unwrap();
    for r in 0..2 {
        for c in 0..3 {
            let (mut up, mut down) = (output, output);
            up[r][c] += 1e-6;
            down[r][c] -= 1e-6;
            let numeric = (value(&up) - value(&down)) / 2e-6;
            assert!((numeric - grad[r][c]).abs() < 1e-8, "huber [{r}][{c}]");
            let numeric = (ce(&up) - ce(&down)) / 2e-6;
            assert!(
                (numeric - ce_grad[r][c]).abs() < 1e-8,
                "cross-entropy [{r}][{c}]"
            );
        }
    }
}
