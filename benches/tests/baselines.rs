//! The benchmarks' baselines compute what the generated networks compute:
//! the same loss, the same gradient and the same step of SGD, on small
//! networks of each workload's shape. A baseline that skipped work could
//! otherwise make the generated code look slow, or a wrong one make it
//! look fast.

#[path = "../baselines/dynamic.rs"]
mod dynamic;
#[path = "../baselines/expert.rs"]
mod expert;
#[path = "../baselines/ndarray_gemm.rs"]
mod ndarray_gemm;
#[path = "../baselines/recurrent.rs"]
mod recurrent;

use approx::assert_relative_eq;
use backprop::{Network, Sgd};
use ndarray::Array2;
use ndarray_gemm::{Activation, Loss};

backprop::network! {
    /// The seed workload's shape (W1).
    pub Seed = 3 -> sigmoid(4) -> linear(2); loss = mse
}

backprop::network! {
    /// The control workload's shape (W2).
    pub Control = 5 -> tanh(6) -> tanh(4) -> linear(2); loss = mse
}

backprop::network! {
    /// W8's LSTM, smaller.
    pub Lstm4 = 1 -> lstm(4) -> linear(1); loss = mse
}

backprop::network! {
    /// W8's GRU, smaller.
    pub Gru4 = 1 -> gru(4) -> linear(1); loss = mse
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
    y: &[N::Target; R],
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

/// The two baselines shaped at run time, driven the same way by
/// [`run_time_shaped_baseline_computes_the_generated_gradients`].
trait RunTimeShaped: Sized {
    fn new(widths: &[usize], activations: &[Activation], loss: Loss, params: &[f32]) -> Self;
    fn gradients<const I: usize, const O: usize>(&mut self, x: &[[f32; I]], y: &[[f32; O]]) -> f32;
    fn gradient_params(&self, flat: &mut [f32]);
    fn train_step<const I: usize, const O: usize>(&mut self, x: &[[f32; I]], y: &[[f32; O]]);
    fn forward<const I: usize>(&mut self, x: &[[f32; I]]) -> Vec<f32>;
}

impl RunTimeShaped for ndarray_gemm::Mlp {
    fn new(widths: &[usize], activations: &[Activation], loss: Loss, params: &[f32]) -> Self {
        Self::new(widths, activations, loss, params, B)
    }
    fn gradients<const I: usize, const O: usize>(&mut self, x: &[[f32; I]], y: &[[f32; O]]) -> f32 {
        self.gradients(matrix(x).view(), matrix(y).view())
    }
    fn gradient_params(&self, flat: &mut [f32]) {
        self.gradient_params(flat);
    }
    fn train_step<const I: usize, const O: usize>(&mut self, x: &[[f32; I]], y: &[[f32; O]]) {
        self.train_step(matrix(x).view(), matrix(y).view(), LR);
    }
    fn forward<const I: usize>(&mut self, x: &[[f32; I]]) -> Vec<f32> {
        self.forward(matrix(x).view()).iter().copied().collect()
    }
}

impl RunTimeShaped for dynamic::Mlp {
    fn new(widths: &[usize], activations: &[Activation], loss: Loss, params: &[f32]) -> Self {
        Self::new(widths, activations, loss, params, B)
    }
    fn gradients<const I: usize, const O: usize>(&mut self, x: &[[f32; I]], y: &[[f32; O]]) -> f32 {
        self.gradients(x.as_flattened(), y.as_flattened())
    }
    fn gradient_params(&self, flat: &mut [f32]) {
        self.gradient_params(flat);
    }
    fn train_step<const I: usize, const O: usize>(&mut self, x: &[[f32; I]], y: &[[f32; O]]) {
        self.train_step(x.as_flattened(), y.as_flattened(), LR);
    }
    fn forward<const I: usize>(&mut self, x: &[[f32; I]]) -> Vec<f32> {
        self.forward(x.as_flattened()).to_vec()
    }
}

/// The seed's, control's and classifier's losses and gradients, the seed's
/// step and the classifier's outputs, from baseline `M`.
fn run_time_shaped_baseline_computes_the_generated_gradients<M: RunTimeShaped>() {
    let seed = Seed::seeded(1);
    let (x, y) = (rows::<B, 3>(1), rows::<B, 2>(2));
    let (loss, grad, stepped) = generated(&seed, &x, &y);
    let shape = [Activation::Sigmoid, Activation::Linear];
    let mut baseline = M::new(&[3, 4, 2], &shape, Loss::Mse, seed.params());
    let mut flat = vec![0.0; Seed::PARAMS];
    assert_relative_eq!(baseline.gradients(&x, &y), loss, max_relative = 1e-5);
    baseline.gradient_params(&mut flat);
    assert_close("seed gradient", &flat, &grad);
    baseline.train_step(&x, &y);
    // Parameters after the step: the gradient at the stepped weights matches
    // only if the step did.
    let mut after = M::new(&[3, 4, 2], &shape, Loss::Mse, &stepped);
    let mut want = vec![0.0; Seed::PARAMS];
    after.gradients(&x, &y);
    after.gradient_params(&mut want);
    baseline.gradients(&x, &y);
    baseline.gradient_params(&mut flat);
    assert_close("seed after a step", &flat, &want);

    let control = Control::seeded(2);
    let (x, y) = (rows::<B, 5>(3), rows::<B, 2>(4));
    let (loss, grad, _) = generated(&control, &x, &y);
    let tanh = Activation::Tanh;
    let shape = [tanh, tanh, Activation::Linear];
    let mut baseline = M::new(&[5, 6, 4, 2], &shape, Loss::Mse, control.params());
    let mut flat = vec![0.0; Control::PARAMS];
    assert_relative_eq!(baseline.gradients(&x, &y), loss, max_relative = 1e-5);
    baseline.gradient_params(&mut flat);
    assert_close("control gradient", &flat, &grad);

    let classifier = Classifier::seeded(3);
    let x = rows::<B, 6>(5);
    let y: [[f32; 3]; B] = core::array::from_fn(|r| backprop::one_hot(r % 3));
    let (loss, grad, _) = generated(&classifier, &x, &y);
    let shape = [Activation::Relu, Activation::Linear];
    let mut baseline = M::new(
        &[6, 7, 3],
        &shape,
        Loss::SoftmaxCrossEntropy,
        classifier.params(),
    );
    let mut flat = vec![0.0; Classifier::PARAMS];
    assert_relative_eq!(baseline.gradients(&x, &y), loss, max_relative = 1e-5);
    baseline.gradient_params(&mut flat);
    assert_close("classifier gradient", &flat, &grad);
    assert_close(
        "classifier outputs",
        &baseline.forward(&x),
        classifier.forward(&x).as_flattened(),
    );
}

#[test]
fn ndarray_baselines_compute_the_generated_gradients() {
    run_time_shaped_baseline_computes_the_generated_gradients::<ndarray_gemm::Mlp>();
}

#[test]
fn dynamic_baselines_compute_the_generated_gradients() {
    run_time_shaped_baseline_computes_the_generated_gradients::<dynamic::Mlp>();
}

/// The expert's recurrent steps give the generated network's outputs over
/// a stream, state carried, for both cells.
#[test]
fn recurrent_baselines_stream_the_generated_outputs() {
    use backprop::sequence::Recurrent;

    let inputs = (0..40).map(|t| ((t * 7 % 11) as f32 - 5.0) / 4.0);
    let lstm = Lstm4::seeded(3);
    let head = recurrent::Head {
        w: lstm.w2().map(|row| row[0]),
        b: lstm.b2()[0],
    };
    let (mut expert, mut state) = (
        recurrent::Lstm::new(&lstm.lstm1(), head),
        Lstm4State::default(),
    );
    for x in inputs.clone() {
        assert_relative_eq!(
            expert.step(x),
            lstm.step(&mut state, &[x])[0],
            max_relative = 1e-5,
            epsilon = 1e-6
        );
    }
    let gru = Gru4::seeded(4);
    let head = recurrent::Head {
        w: gru.w2().map(|row| row[0]),
        b: gru.b2()[0],
    };
    let (mut expert, mut state) = (recurrent::Gru::new(&gru.gru1(), head), Gru4State::default());
    for x in inputs {
        assert_relative_eq!(
            expert.step(x),
            gru.step(&mut state, &[x])[0],
            max_relative = 1e-5,
            epsilon = 1e-6
        );
    }
}
