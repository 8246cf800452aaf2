//! A network as large as the MNIST workload (784 → relu(128) → softmax(10),
//! batch 128) is created, trained and dropped on the main thread and on a
//! spawned thread with the default 2 MiB stack, in debug and release builds:
//! its parameters and gradient live on the heap, and a step's work buffers
//! fit on the stack.

use backprop::Network;
use backprop::Sgd;

backprop::network! {
    /// The MNIST workload's network (W4).
    pub Mnist = 784 -> relu(128) -> softmax(10); loss = cross_entropy
}

const BATCH: usize = 128;

/// `BATCH` rows of `N` values.
type Rows<const N: usize> = Box<[[f32; N]; BATCH]>;

/// A batch on the heap, as data read at run time would be: the input alone
/// is 401 KB.
fn batch() -> (Rows<784>, Rows<10>) {
    let x: Vec<[f32; 784]> = (0..BATCH)
        .map(|row| core::array::from_fn(|col| ((row * 31 + col * 7) % 97) as f32 / 97.0))
        .collect();
    let y: Vec<[f32; 10]> = (0..BATCH)
        .map(|row| core::array::from_fn(|class| f32::from(u8::from(class == row % 10))))
        .collect();
    (
        x.into_boxed_slice().try_into().expect("BATCH rows"),
        y.into_boxed_slice().try_into().expect("BATCH rows"),
    )
}

/// A few steps only, so that the debug build stays quick.
fn create_train_and_drop() {
    let (x, y) = batch();
    let mut network = Mnist::seeded(4);
    let mut sgd = Sgd::new(0.05);
    let before = network.loss(&x, &y);
    for _ in 0..3 {
        network.train_step(&x, &y, &mut sgd);
    }
    let after = network.loss(&x, &y);
    assert!(after < before, "loss {before} → {after}");

    let (loss, grad) = network.gradients(&x, &y);
    assert!(loss.is_finite());
    assert!(grad.params().iter().all(|g| g.is_finite()));
    let copy = network.clone();
    assert_eq!(copy, network);
    let outputs = network.forward(&x);
    for row in &outputs {
        approx::assert_relative_eq!(row.iter().sum::<f32>(), 1.0, epsilon = 1e-5);
    }
}

#[test]
fn mnist_sized_network_trains_on_the_main_thread() {
    create_train_and_drop();
}

#[test]
fn mnist_sized_network_trains_on_a_thread_with_the_default_stack() {
    // `thread::spawn` gives the default 2 MiB stack unless RUST_MIN_STACK
    // says otherwise; ask for it explicitly so the test means the same
    // everywhere.
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(create_train_and_drop)
        .expect("spawn a thread")
        .join()
        .expect("no stack overflow or panic");
}

#[test]
fn large_network_parameters_live_on_the_heap() {
    let network = Mnist::zeros();
    assert!(
        size_of::<Mnist>() < 64,
        "{} bytes inline",
        size_of::<Mnist>()
    );
    assert_eq!(network.params().len(), Mnist::PARAMS);
    assert_eq!(Mnist::PARAMS, 784 * 128 + 128 + 128 * 10 + 10);
}

backprop::network! {
    /// The digits workload's network, products by the sizes.
    pub DigitsAuto = 64 -> relu(128) -> softmax(10); loss = cross_entropy
}

backprop::network! {
    /// The same, every product as plain loops.
    pub DigitsPlain = 64 -> relu(128) -> softmax(10); loss = cross_entropy; kernels = plain
}

backprop::network! {
    /// The same, every product register-blocked.
    pub DigitsBlocked = 64 -> relu(128) -> softmax(10); loss = cross_entropy; kernels = blocked
}

#[test]
fn every_kernel_choice_computes_the_same_gradients() {
    const ROWS: usize = 16;
    let x: [[f32; 64]; ROWS] = core::array::from_fn(|r| {
        core::array::from_fn(|c| ((r * 5 + c * 3) % 17) as f32 / 17.0 - 0.4)
    });
    let y: [[f32; 10]; ROWS] = core::array::from_fn(|r| backprop::one_hot(r % 10));
    let auto = DigitsAuto::seeded(9);
    let mut plain = DigitsPlain::zeros();
    plain.params_mut().copy_from_slice(auto.params());
    let mut blocked = DigitsBlocked::zeros();
    blocked.params_mut().copy_from_slice(auto.params());

    let (loss, grad) = auto.gradients(&x, &y);
    let (plain_loss, plain_grad) = plain.gradients(&x, &y);
    let (blocked_loss, blocked_grad) = blocked.gradients(&x, &y);
    approx::assert_relative_eq!(loss, plain_loss, max_relative = 1e-5);
    approx::assert_relative_eq!(loss, blocked_loss, max_relative = 1e-5);
    for ((&g, &p), &b) in grad
        .params()
        .iter()
        .zip(plain_grad.params())
        .zip(blocked_grad.params())
    {
        approx::assert_relative_eq!(g, p, epsilon = 1e-6, max_relative = 1e-4);
        approx::assert_relative_eq!(g, b, epsilon = 1e-6, max_relative = 1e-4);
    }
    let (_, grad_x) = auto.input_gradients(&x, &y);
    let (_, plain_grad_x) = plain.input_gradients(&x, &y);
    let (_, blocked_grad_x) = blocked.input_gradients(&x, &y);
    for ((&g, &p), &b) in grad_x
        .as_flattened()
        .iter()
        .zip(plain_grad_x.as_flattened())
        .zip(blocked_grad_x.as_flattened())
    {
        approx::assert_relative_eq!(g, p, epsilon = 1e-6, max_relative = 1e-4);
        approx::assert_relative_eq!(g, b, epsilon = 1e-6, max_relative = 1e-4);
    }
}
