//! The benchmarks' baselines compute what the generated networks compute:
//! the same loss, the same gradient and the same step of SGD, on small
//! networks of each workload's shape. A baseline that skipped work could
//! otherwise make the generated code look slow, or a wrong one make it
//! look fast.

#[path = "../benches/baselines/dynamic.rs"]
mod dynamic;
#[path = "../benches/baselines/expert.rs"]
mod expert;
#[path = "../benches/baselines/ndarray_gemm.rs"]
mod ndarray_gemm;

use approx::assert_relative_eq;
use backprop::{Network, Sgd};
use ndarray::Array2;

backprop::network! {
    /// The seed workload's shape (W1).
    pub Seed = 3 -> sigmoid(4) -> linear(2); loss = mse
}

backprop::network! {
    /// The control workload's shape (W2).
    pub Control = 5 -> tanh(6) -> tanh(4) -> linear(2); loss = mse
}

backprop::network! {
    /// The digits and MNIST workloads' shape (W3, W4).
    pub Classifier = 6 -> relu(7) -> softmax(3); loss = cross_entropy
}

const B: usize = 5;
const LR: f32 = 0.1;

fn rows<const R: usize, const N: usize>(seed: usize) -> [[f32; N]; R] {
    core::array::from_fn(|r| {
        core::array::from_fn(|c| (((r * 7 + c * 5 + seed) % 13) as f32 - 6.0) / 5.0)
    })
}

fn matrix<const N: usize>(rows: &[[f32; N]]) -> Array2<f32> {
    Array2::from_shape_vec((rows.len(), N), rows.as_flattened().to_vec()).expect("rows × N")
}

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            approx::relative_eq!(g, w, epsilon = 1e-6, max_relative = 1e-4),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

/// The generated network's loss, gradient and parameters after one SGD step.
fn generated<N: Network<Float = f32>, const R: usize>(
    network: &N,
    x: &[N::Input; R],
    y: &[N::Output; R],
) -> (f32, Vec<f32>, Vec<f32>) {
    let (loss, grad) = network.gradients(x, y);
    let mut stepped = network.clone();
    stepped.train_step(x, y, &mut Sgd::new(f64::from(LR)));
    (loss, grad.params().to_vec(), stepped.params().to_vec())
}

#[test]
fn expert_baselines_compute_the_generated_gradients() {
    let seed = Seed::seeded(1);
    let (x, y) = (rows::<B, 3>(1), rows::<B, 2>(2));
    let (loss, grad, stepped) = generated(&seed, &x, &y);
    let mut baseline =
        expert::Mlp2::<expert::Sigmoid, expert::Mse, B, 3, 4, 2>::from_params(seed.params());
    let mut flat = vec![0.0; Seed::PARAMS];
    assert_relative_eq!(baseline.gradients(&x, &y), loss, max_relative = 1e-5);
    baseline.gradient_params(&mut flat);
    assert_close("seed gradient", &flat, &grad);
    baseline.train_step(&x, &y, LR);
    let mut params = vec![0.0; Seed::PARAMS];
    baseline.l1.store(&mut params[..16]);
    baseline.l2.store(&mut params[16..]);
    assert_close("seed after a step", &params, &stepped);

    let control = Control::seeded(2);
    let (x, y) = (rows::<B, 5>(3), rows::<B, 2>(4));
    let (loss, grad, _) = generated(&control, &x, &y);
    let mut baseline =
        expert::Mlp3::<expert::Tanh, expert::Mse, B, 5, 6, 4, 2>::from_params(control.params());
    let mut flat = vec![0.0; Control::PARAMS];
    assert_relative_eq!(baseline.gradients(&x, &y), loss, max_relative = 1e-5);
    baseline.gradient_params(&mut flat);
    assert_close("control gradient", &flat, &grad);

    let classifier = Classifier::seeded(3);
    let x = rows::<B, 6>(5);
    let y: [[f32; 3]; B] = core::array::from_fn(|r| backprop::one_hot(r % 3));
    let (loss, grad, _) = generated(&classifier, &x, &y);
    let mut baseline =
        expert::Mlp2::<expert::Relu, expert::SoftmaxCrossEntropy, B, 6, 7, 3>::from_params(
            classifier.params(),
        );
    let mut flat = vec![0.0; Classifier::PARAMS];
    assert_relative_eq!(baseline.gradients(&x, &y), loss, max_relative = 1e-5);
    baseline.gradient_params(&mut flat);
    assert_close("classifier gradient", &flat, &grad);
    let mut out = [[0.0; 3]; B];
    baseline.forward(&x, &mut out);
    assert_close(
        "classifier outputs",
        out.as_flattened(),
        classifier.forward(&x).as_flattened(),
    );
}

#[test]
fn ndarray_baselines_compute_the_generated_gradients() {
    use ndarray_gemm::{Activation, Loss, Mlp};

    let seed = Seed::seeded(1);
    let (x, y) = (rows::<B, 3>(1), rows::<B, 2>(2));
    let (loss, grad, stepped) = generated(&seed, &x, &y);
    let mut baseline = Mlp::new(
        &[3, 4, 2],
        &[Activation::Sigmoid, Activation::Linear],
        Loss::Mse,
        seed.params(),
        B,
    );
    let (xm, ym) = (matrix(&x), matrix(&y));
    let mut flat = vec![0.0; Seed::PARAMS];
    assert_relative_eq!(
        baseline.gradients(xm.view(), ym.view()),
        loss,
        max_relative = 1e-5
    );
    baseline.gradient_params(&mut flat);
    assert_close("seed gradient", &flat, &grad);
    baseline.train_step(xm.view(), ym.view(), LR);
    let mut after = Mlp::new(
        &[3, 4, 2],
        &[Activation::Sigmoid, Activation::Linear],
        Loss::Mse,
        &stepped,
        B,
    );
    // Parameters after the step: the gradient at the stepped weights matches
    // only if the step did.
    let mut want = vec![0.0; Seed::PARAMS];
    after.gradients(xm.view(), ym.view());
    after.gradient_params(&mut want);
    baseline.gradients(xm.view(), ym.view());
    baseline.gradient_params(&mut flat);
    assert_close("seed after a step", &flat, &want);

    let control = Control::seeded(2);
    let (x, y) = (rows::<B, 5>(3), rows::<B, 2>(4));
    let (loss, grad, _) = generated(&control, &x, &y);
    let tanh = Activation::Tanh;
    let mut baseline = Mlp::new(
        &[5, 6, 4, 2],
        &[tanh, tanh, Activation::Linear],
        Loss::Mse,
        control.params(),
        B,
    );
    let mut flat = vec![0.0; Control::PARAMS];
    assert_relative_eq!(
        baseline.gradients(matrix(&x).view(), matrix(&y).view()),
        loss,
        max_relative = 1e-5
    );
    baseline.gradient_params(&mut flat);
    assert_close("control gradient", &flat, &grad);

    let classifier = Classifier::seeded(3);
    let x = rows::<B, 6>(5);
    let y: [[f32; 3]; B] = core::array::from_fn(|r| backprop::one_hot(r % 3));
    let (loss, grad, _) = generated(&classifier, &x, &y);
    let mut baseline = Mlp::new(
        &[6, 7, 3],
        &[Activation::Relu, Activation::Linear],
        Loss::SoftmaxCrossEntropy,
        classifier.params(),
        B,
    );
    let mut flat = vec![0.0; Classifier::PARAMS];
    let (xm, ym) = (matrix(&x), matrix(&y));
    assert_relative_eq!(
        baseline.gradients(xm.view(), ym.view()),
        loss,
        max_relative = 1e-5
    );
    baseline.gradient_params(&mut flat);
    assert_close("classifier gradient", &flat, &grad);
    let outputs = baseline.forward(xm.view()).to_owned();
    assert_close(
        "classifier outputs",
        outputs.as_slice().expect("contiguous"),
        classifier.forward(&x).as_flattened(),
    );
}

#[test]
fn dynamic_baselines_compute_the_generated_gradients() {
    use dynamic::{Activation, Loss, Mlp};

    let seed = Seed::seeded(1);
    let (x, y) = (rows::<B, 3>(1), rows::<B, 2>(2));
    let (loss, grad, stepped) = generated(&seed, &x, &y);
    let shape = [Activation::Sigmoid, Activation::Linear];
    let mut baseline = Mlp::new(&[3, 4, 2], &shape, Loss::Mse, seed.params(), B);
    let (xf, yf) = (x.as_flattened(), y.as_flattened());
    let mut flat = vec![0.0; Seed::PARAMS];
    assert_relative_eq!(baseline.gradients(xf, yf), loss, max_relative = 1e-5);
    baseline.gradient_params(&mut flat);
    assert_close("seed gradient", &flat, &grad);
    baseline.train_step(xf, yf, LR);
    // Parameters after the step: the gradient at the stepped weights matches
    // only if the step did.
    let mut after = Mlp::new(&[3, 4, 2], &shape, Loss::Mse, &stepped, B);
    let mut want = vec![0.0; Seed::PARAMS];
    after.gradients(xf, yf);
    after.gradient_params(&mut want);
    baseline.gradients(xf, yf);
    baseline.gradient_params(&mut flat);
    assert_close("seed after a step", &flat, &want);

    let control = Control::seeded(2);
    let (x, y) = (rows::<B, 5>(3), rows::<B, 2>(4));
    let (loss, grad, _) = generated(&control, &x, &y);
    let tanh = Activation::Tanh;
    let mut baseline = Mlp::new(
        &[5, 6, 4, 2],
        &[tanh, tanh, Activation::Linear],
        Loss::Mse,
        control.params(),
        B,
    );
    let mut flat = vec![0.0; Control::PARAMS];
    assert_relative_eq!(
        baseline.gradients(x.as_flattened(), y.as_flattened()),
        loss,
        max_relative = 1e-5
    );
    baseline.gradient_params(&mut flat);
    assert_close("control gradient", &flat, &grad);

    let classifier = Classifier::seeded(3);
    let x = rows::<B, 6>(5);
    let y: [[f32; 3]; B] = core::array::from_fn(|r| backprop::one_hot(r % 3));
    let (loss, grad, _) = generated(&classifier, &x, &y);
    let mut baseline = Mlp::new(
        &[6, 7, 3],
        &[Activation::Relu, Activation::Linear],
        Loss::SoftmaxCrossEntropy,
        classifier.params(),
        B,
    );
    let mut flat = vec![0.0; Classifier::PARAMS];
    let (xf, yf) = (x.as_flattened(), y.as_flattened());
    assert_relative_eq!(baseline.gradients(xf, yf), loss, max_relative = 1e-5);
    baseline.gradient_params(&mut flat);
    assert_close("classifier gradient", &flat, &grad);
    assert_close(
        "classifier outputs",
        baseline.forward(xf),
        classifier.forward(&x).as_flattened(),
    );
}
