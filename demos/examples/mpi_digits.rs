//! The digits network trained data-parallel across processes through MPI:
//! every process takes its share of each shuffled batch of 32 rows, the
//! gradient is all-reduced each step, and every process applies the same
//! Adam update. Rank 0 then trains a copy in one process on the same whole
//! batches and checks that the weights agree to rounding; the last line
//! says whether they `match`, and the run fails when they do not.
//!
//! Build with `cargo build --release -p backprop-demos --features mpi
//! --example mpi_digits` (it needs an MPI library: Debian's `openmpi-bin`
//! and `libopenmpi-dev`, and `libclang-dev` for the bindings), then run
//! `mpirun -np 2 target/release/examples/mpi_digits [DIGITS_CSV]`, on one
//! machine or, with `--hostfile`, on several. Reads `data/digits.csv`
//! unless given another path, on every process.

use std::error::Error;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use backprop::data::{DataSet, Standardiser, Table, accuracy, split};
use backprop::distributed::{DataParallel, mpi};
use backprop::{Adam, Network};
use mpi::collective::{CommunicatorCollectives, SystemOperation};
use mpi::topology::Communicator;

backprop::network! {
    /// 64 pixels in, one probability per digit out, as in `digits`.
    pub Digits = 64 -> relu(128) -> softmax(10); loss = cross_entropy
}

/// The seed of the split, the initial weights and the shuffles.
const SEED: u64 = 7;
const TEST_FRACTION: f64 = 0.2;
const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const EPOCHS: u64 = 20;
const BATCH: usize = 32;
const LEARNING_RATE: f64 = 1e-3;
/// The largest difference of a weight between data-parallel and
/// one-process training that still counts as rounding. The two sum each
/// gradient in a different order, so they differ by an ulp or so per
/// step, and Adam carries that through every later step; a real fault
/// (a missed share, a wrong weighting) moves weights by far more.
const TOLERANCE: f32 = 1e-5;

type Pixels = [f32; 64];
type Target = [f32; 10];

fn main() -> Result<(), Box<dyn Error>> {
    let universe = mpi::initialize().ok_or("MPI was already initialised")?;
    let mut parallel = DataParallel::new(universe.world());
    let (rank, processes) = (parallel.rank(), parallel.processes());
    let lead = rank == 0;

    // Every process reads and splits the same file, so all hold the same
    // training and test rows, standardised alike.
    let path = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/digits.csv"),
        PathBuf::from,
    );
    let samples = Table::<f32, 64>::read(&path, "digit", Some(&DIGITS))?;
    let targets: Vec<Target> = samples.one_hot()?;
    let parts = split(samples.inputs(), &targets, TEST_FRACTION, SEED)?;
    let scaler = Standardiser::fit(&parts.train_inputs)?;
    let (mut x_train, mut x_test) = (parts.train_inputs, parts.test_inputs);
    scaler.apply_all(&mut x_train);
    scaler.apply_all(&mut x_test);
    let (x_train, x_test) = (&x_train[..], &x_test[..]);
    let (y_train, y_test) = (&parts.train_targets[..], &parts.test_targets[..]);
    let train = DataSet::new(x_train, y_train)?;
    let steps = EPOCHS * train.batches_per_epoch::<BATCH>() as u64;
    if lead {
        println!(
            "{processes} process(es), {} training digits in batches of {BATCH}, rank 0 takes {} rows of each",
            train.len(),
            parallel.share(BATCH).len()
        );
        println!(
            "per step: {} multiply-adds per row forward, an all-reduce of {} floats ({} KiB)",
            Digits::MACS,
            Digits::PARAMS + 3,
            (Digits::PARAMS + 3) * 4 / 1024
        );
    }

    // Rank 0's initial weights everywhere: the other ranks start from zeros
    // to show that the broadcast, not the seed, makes them equal.
    let mut net = if lead {
        Digits::seeded(SEED)
    } else {
        Digits::zeros()
    };
    parallel.broadcast_weights(&mut net);

    let mut adam = Adam::new(LEARNING_RATE);
    let mut stepping = Duration::ZERO;
    let mut last_loss = 0.0;
    for epoch in 0..EPOCHS {
        for batch in train.shuffled::<BATCH>(SEED, epoch) {
            let mine = parallel.share(batch.rows());
            let (x, y) = (&batch.inputs()[mine.clone()], &batch.targets()[mine]);
            let started = Instant::now();
            last_loss = parallel.train_step_slice(&mut net, x, y, &mut adam)?;
            stepping += started.elapsed();
        }
    }
    let all_reduce = time_all_reduce(&parallel);
    let agree = parallel.weights_agree(&net);
    if !lead {
        return if agree {
            Ok(())
        } else {
            Err("the processes' weights differ".into())
        };
    }
    let per_step = stepping.as_secs_f64() / steps as f64;
    println!(
        "data-parallel: {steps} steps in {:.2} s, {:.1} µs per step; last batch's loss {last_loss:.4}",
        stepping.as_secs_f64(),
        1e6 * per_step
    );
    println!(
        "of which the all-reduce of {} floats alone takes about {:.1} µs",
        Digits::PARAMS + 3,
        1e6 * all_reduce
    );
    println!(
        "test accuracy {:.1}% ({} digits); weights identical on every process: {agree}",
        100.0 * accuracy(&outputs(&net, x_test)?, y_test)?,
        x_test.len()
    );

    let single = train_alone(&train, x_test, y_test, steps)?;
    let difference = net
        .params()
        .iter()
        .zip(single.params())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0_f32, f32::max);
    if agree && difference <= TOLERANCE {
        println!("weights match single-process training: max difference {difference:.1e}");
        Ok(())
    } else {
        Err(format!(
            "weights do not match single-process training: max difference {difference:.1e} (tolerance {TOLERANCE:.0e}), identical on every process: {agree}"
        )
        .into())
    }
}

/// The same training in this one process, on the whole batches.
fn train_alone(
    train: &DataSet<'_, Pixels, Target>,
    x_test: &[Pixels],
    y_test: &[Target],
    steps: u64,
) -> Result<Digits, Box<dyn Error>> {
    let mut single = Digits::seeded(SEED);
    let mut adam = Adam::new(LEARNING_RATE);
    let started = Instant::now();
    for epoch in 0..EPOCHS {
        for batch in train.shuffled::<BATCH>(SEED, epoch) {
            single.train_step_slice(batch.inputs(), batch.targets(), &mut adam)?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "one process:   {steps} steps in {seconds:.2} s, {:.1} µs per step; test accuracy {:.1}%",
        1e6 * seconds / steps as f64,
        100.0 * accuracy(&outputs(&single, x_test)?, y_test)?
    );
    Ok(single)
}

/// Seconds per all-reduce of as many floats as a step sends, the median of
/// 25 rounds of 20.
fn time_all_reduce<C: Communicator>(parallel: &DataParallel<C, f32>) -> f64 {
    let send = vec![1.0_f32; Digits::PARAMS + 3];
    let mut sum = send.clone();
    let mut rounds: Vec<f64> = (0..25)
        .map(|_| {
            parallel.communicator().barrier();
            let started = Instant::now();
            for _ in 0..20 {
                parallel.communicator().all_reduce_into(
                    &send[..],
                    &mut sum[..],
                    SystemOperation::sum(),
                );
            }
            started.elapsed().as_secs_f64() / 20.0
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn outputs(net: &Digits, x: &[Pixels]) -> Result<Vec<Target>, backprop::BatchError> {
    let mut outputs = vec![[0.0; 10]; x.len()];
    net.forward_slice(x, &mut outputs)?;
    Ok(outputs)
}
