//! Data-parallel steps (`distributed`, feature `mpi`) in a world of one
//! process, which MPI gives a program run without `mpirun`: the all-reduce
//! is then a copy, so each step must be `Network::train_step_slice`'s, bit
//! for bit when the rows are a power of two (dividing `rows · g` by the rows
//! is exact) and to rounding otherwise. A refused step changes nothing, and
//! a step after the first allocates nothing. `mpi_digits` under
//! `mpirun -np 2` and `-np 3` checks more than one process.
//!
//! This file holds one test only: MPI is initialised once per process, and
//! the allocation counter is global.

use std::alloc::System;

use approx::assert_relative_eq;
use backprop::distributed::{DataParallel, DistributedError, mpi, share};
use backprop::init::seeded_rng;
use backprop::{Adam, BatchError, Init, Network, Sgd};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

backprop::network! {
    /// The digits workload: parameters on the heap.
    pub Digits = 64 -> relu(128) -> softmax(10); loss = cross_entropy
}

backprop::network! {
    /// Parameters inline, in `f64`.
    pub Control = 8 -> tanh(32) -> tanh(32) -> linear(2); loss = mse; float = f64
}

/// `n` rows of `N` values in `[0, 1)`.
fn rows<T: From<u8> + core::ops::Div<Output = T>, const N: usize>(
    n: usize,
    seed: usize,
) -> Vec<[T; N]> {
    (0..n)
        .map(|r| {
            core::array::from_fn(|c| {
                T::from(u8::try_from((r * 13 + c * 7 + seed) % 11).unwrap()) / T::from(11)
            })
        })
        .collect()
}

/// The losses of a run of steps, and the weights after it.
type Run<N> = (Vec<<N as Network>::Float>, N);

/// Ten Adam steps on `x` and `y`, data-parallel and in one process, from the
/// same weights: the losses and the weights, either way.
fn both_ways<N: Network>(
    parallel: &mut DataParallel<mpi::topology::SimpleCommunicator, N::Float>,
    x: &[N::Input],
    y: &[N::Target],
) -> (Run<N>, Run<N>)
where
    N::Float: mpi::datatype::Equivalence,
{
    let (mut parallel_net, mut single_net) = (N::zeros(), N::zeros());
    backprop::init::initialize(&mut parallel_net, Init::GlorotUniform, &mut seeded_rng(3));
    single_net
        .params_mut()
        .copy_from_slice(parallel_net.params());
    let (mut parallel_adam, mut single_adam) = (Adam::new(1e-2), Adam::new(1e-2));
    let mut parallel_losses = Vec::new();
    let mut single_losses = Vec::new();
    for _ in 0..10 {
        let mine = parallel.share(x.len());
        let loss = parallel.train_step_slice(
            &mut parallel_net,
            &x[mine.clone()],
            &y[mine],
            &mut parallel_adam,
        );
        parallel_losses.push(loss.unwrap());
        single_losses.push(single_net.train_step_slice(x, y, &mut single_adam).unwrap());
    }
    ((parallel_losses, parallel_net), (single_losses, single_net))
}

#[test]
fn one_process_steps_are_train_step_slice_and_refused_steps_change_nothing() {
    let universe = mpi::initialize().unwrap();
    let mut parallel = DataParallel::<_, f32>::new(universe.world());
    assert_eq!((parallel.rank(), parallel.processes()), (0, 1));
    let (x, y) = (rows::<f32, 64>(64, 1), rows::<f32, 10>(64, 2));

    // 32 and 64 rows: bit for bit.
    for n in [32, 64] {
        let ((parallel_losses, parallel_net), (single_losses, single_net)) =
            both_ways::<Digits>(&mut parallel, &x[..n], &y[..n]);
        assert_eq!(parallel_losses, single_losses, "{n} rows");
        assert_eq!(parallel_net, single_net, "{n} rows");
        assert!(parallel.weights_agree(&parallel_net));
    }
    // 29 rows: `(29 · g) / 29` is `g` to rounding.
    let ((parallel_losses, parallel_net), (single_losses, single_net)) =
        both_ways::<Digits>(&mut parallel, &x[..29], &y[..29]);
    assert_relative_eq!(
        &parallel_losses[..],
        &single_losses[..],
        max_relative = 1e-5
    );
    assert_relative_eq!(
        parallel_net.params(),
        single_net.params(),
        epsilon = 1e-6,
        max_relative = 1e-5
    );

    // The gradient itself, in f64, with the network's parameters inline.
    let mut parallel64 = DataParallel::<_, f64>::new(universe.world());
    let (x64, y64) = (rows::<f64, 8>(13, 3), rows::<f64, 2>(13, 4));
    let mut control = Control::seeded(5);
    let (loss, grad) = parallel64
        .gradients_slice(&mut control, &x64, &y64)
        .unwrap();
    let mut expected = Control::zeros();
    let expected_loss = control.gradients_slice(&x64, &y64, &mut expected).unwrap();
    assert_relative_eq!(loss, expected_loss, max_relative = 1e-14);
    assert_relative_eq!(grad, expected.params(), max_relative = 1e-14);
    let ((parallel_losses, _), (single_losses, _)) =
        both_ways::<Control>(&mut parallel64, &x64[..8], &y64[..8]);
    assert_eq!(parallel_losses, single_losses);

    // Refused steps: mismatched rows, and a batch with no rows anywhere.
    let mut net = Digits::seeded(1);
    let before = net.clone();
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    let mismatched = parallel.train_step_slice(&mut net, &x[..4], &y[..3], &mut sgd);
    assert_eq!(
        mismatched,
        Err(DistributedError::Batch(BatchError::RowMismatch {
            what: "target",
            inputs: 4,
            rows: 3
        }))
    );
    let empty = parallel.train_step_slice(&mut net, &x[..0], &y[..0], &mut sgd);
    assert_eq!(empty, Err(DistributedError::Batch(BatchError::Empty)));
    assert_eq!(
        empty.unwrap_err().to_string(),
        "no process has a row of the batch; a loss needs at least one sample"
    );
    assert_eq!(net, before);
    // The momentum buffer was not started either: the next step is a first step.
    let mut fresh = Sgd::new(0.1).momentum(0.9);
    let mut reference = before.clone();
    reference
        .train_step_slice(&x[..32], &y[..32], &mut fresh)
        .unwrap();
    parallel
        .train_step_slice(&mut net, &x[..32], &y[..32], &mut sgd)
        .unwrap();
    assert_eq!(net, reference);

    // Rank 0's weights, broadcast to a world of one, are the weights.
    let mut copy = net.clone();
    parallel.broadcast_weights(&mut copy);
    assert_eq!(copy, net);

    // After the first step, steps allocate nothing.
    let mut adam = Adam::new(1e-3);
    parallel
        .train_step_slice(&mut net, &x[..32], &y[..32], &mut adam)
        .unwrap();
    let region = Region::new(GLOBAL);
    for _ in 0..5 {
        parallel
            .train_step_slice(&mut net, &x[..29], &y[..29], &mut adam)
            .unwrap();
    }
    let change = region.change();
    assert_eq!(change.allocations + change.reallocations, 0);

    // Shares: consecutive, covering the batch, sizes within one.
    for rows in 0..40 {
        for processes in 1..9 {
            let shares: Vec<_> = (0..processes)
                .map(|rank| share(rows, rank, processes))
                .collect();
            assert_eq!(shares[0].start, 0);
            assert_eq!(shares[processes - 1].end, rows);
            assert!(shares.windows(2).all(|pair| pair[0].end == pair[1].start));
            let sizes: Vec<_> = shares.iter().map(core::ops::Range::len).collect();
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        }
    }
}
