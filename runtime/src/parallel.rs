//! Training steps and forward passes on every core (feature `parallel`).
//!
//! With the feature on, [`Network`]'s batch methods split a batch across
//! threads by themselves once it holds enough work: at least
//! [`PARALLEL_MULTIPLY_ADDS`] multiply-adds of forward pass (rows ×
//! [`Network::MACS`]). Below that, waking a second thread costs more than
//! it saves, so small networks and small batches run as they do without
//! the feature; for a batch size fixed at compile time the choice is made
//! by the compiler.
//!
//! A training step's rows are cut into *shards* whose number and size
//! depend only on the number of rows, never on the number of threads: each
//! shard's `∂L/∂θ` is computed into its own buffer, then the buffers are
//! summed element by element in shard order. The threads only decide who
//! computes which shard, so a step gives the same bits with 1, 2, 3 or 16
//! threads, and equals the single-threaded step of a smaller batch to
//! rounding. The buffers are kept per thread and network type, so only the
//! first step allocates them.
//!
//! The number of threads is the `BACKPROP_THREADS` environment variable,
//! else the machine's available parallelism; [`set_threads`] overrides both.
//!
//! ```
//! use backprop::{Network, Sgd};
//! use backprop_runtime::parallel;
//!
//! backprop::network! { pub Wide = 64 -> relu(32) -> linear(8); loss = mse }
//!
//! let x = [[0.5; 64]; 512];
//! let y = [[1.0; 8]; 512];
//! assert!(parallel::worth_splitting::<Wide>(x.len()));
//! let mut one = Wide::seeded(3);
//! let mut two = one.clone();
//!
//! parallel::set_threads(1);
//! one.train_step_slice(&x, &y, &mut Sgd::new(0.01))?;
//! parallel::set_threads(2);
//! two.train_step_slice(&x, &y, &mut Sgd::new(0.01))?;
//! assert_eq!(one, two);
//! # Ok::<(), backprop::BatchError>(())
//! ```

use std::any::Any;
use std::boxed::Box;
use std::cell::RefCell;
use std::format;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::vec::Vec;

use rayon::prelude::*;

use crate::kernels::Store;
use crate::network::{gradients_of_rows, whole_chunks};
use crate::{Float, Network};

/// Forward multiply-adds of a batch (rows × [`Network::MACS`]) from which
/// its passes are split across threads. Measured on a 2-core x86-64
/// machine (`cargo bench -p backprop-benches --features parallel --bench
/// w7_parallel -- threshold`): W3's gradient of 64 rows (0.6 M
/// multiply-adds, about 90 µs) gained nothing from a second thread, of 128
/// rows (1.2 M) it took 0.68–0.86 of the time.
pub const PARALLEL_MULTIPLY_ADDS: usize = 1 << 20;

/// Forward multiply-adds of all the members' batches of an
/// [`Ensemble`](crate::ensemble::Ensemble) step from which the members are
/// spread over the threads: lower than [`PARALLEL_MULTIPLY_ADDS`], since
/// members are independent and nothing is summed after them.
pub const PARALLEL_MEMBER_MULTIPLY_ADDS: usize = 1 << 18;

/// Fewest rows in a shard of a training step, and the multiple its size is
/// rounded to.
const MIN_SHARD_ROWS: usize = 64;

/// Most shards in a training step. Each is a gradient buffer written and
/// summed once per step, so more shards cost memory traffic; eight keep
/// eight cores busy.
const MAX_SHARDS: usize = 8;

/// Rows of one forward task of [`forward`].
const FORWARD_ROWS: usize = 256;

/// Parameters summed by one task when the shards' gradients are reduced.
const REDUCE_PARAMS: usize = 1 << 13;

/// Threads set in code; 0 until [`set_threads`] is called.
static THREADS_SET: AtomicUsize = AtomicUsize::new(0);

/// The pool and the number of threads it was built with.
static POOL: Mutex<Option<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(None);

/// Use `threads` threads from now on (at least one). Results do not depend
/// on it; only the time does.
pub fn set_threads(threads: usize) {
    THREADS_SET.store(threads.max(1), Ordering::Relaxed);
}

/// The number of threads a parallel step uses: what [`set_threads`] set,
/// else the `BACKPROP_THREADS` environment variable (a positive integer),
/// else the machine's available parallelism.
#[must_use]
pub fn threads() -> usize {
    match THREADS_SET.load(Ordering::Relaxed) {
        0 => {
            let threads = std::env::var("BACKPROP_THREADS")
                .ok()
                .and_then(|value| value.trim().parse::<usize>().ok())
                .filter(|&threads| threads > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
            // Read the environment once; a later `set_threads` still wins.
            let _ = THREADS_SET.compare_exchange(0, threads, Ordering::Relaxed, Ordering::Relaxed);
            THREADS_SET.load(Ordering::Relaxed)
        }
        threads => threads,
    }
}

/// Whether `rows` rows of `N` hold enough work to split across threads.
#[must_use]
pub const fn worth_splitting<N: Network>(rows: usize) -> bool {
    rows.saturating_mul(N::MACS) >= PARALLEL_MULTIPLY_ADDS
}

/// The pool of [`threads`] threads, built on first use and rebuilt only
/// when the count changes; `None` for one thread, or if the system refuses
/// threads, and then the work runs on the calling thread.
fn pool() -> Option<Arc<rayon::ThreadPool>> {
    let threads = threads();
    if threads == 1 {
        return None;
    }
    let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((built, pool)) = &*pool
        && *built == threads
    {
        return Some(Arc::clone(pool));
    }
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|index| format!("backprop-{index}"))
        // As a main thread's: passes keep their batch's buffers on the stack.
        .stack_size(8 << 20)
        .build()
        .ok()
        .map(Arc::new)?;
    *pool = Some((threads, Arc::clone(&built)));
    Some(built)
}

/// Where the tasks of one call run.
#[derive(Clone, Copy)]
enum Threads {
    /// On the threads of the rayon pool the call runs in.
    Pool,
    /// In order, on the calling thread.
    Caller,
}

/// Runs `work` on the calling thread for one thread, else in a pool: the
/// one the call already runs in, if any, else [`pool`]'s. Handing work to a
/// pool from outside takes a block of rayon's job queue once every 63
/// calls; a call already inside a pool, or on one thread, allocates nothing.
fn on_threads<R: Send>(work: impl FnOnce(Threads) -> R + Send) -> R {
    if threads() > 1 && rayon::current_thread_index().is_some() {
        return work(Threads::Pool);
    }
    match pool() {
        None => work(Threads::Caller),
        Some(pool) => pool.install(|| work(Threads::Pool)),
    }
}

impl Threads {
    /// `(a(), b())`, at once on the pool.
    fn join<A: Send, B: Send>(
        self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        match self {
            Self::Pool => rayon::join(a, b),
            Self::Caller => (a(), b()),
        }
    }

    /// `task(index, chunk)` for each chunk of `size` items (the last may be
    /// shorter), in any order.
    fn for_each_chunk<E: Send>(
        self,
        items: &mut [E],
        size: usize,
        task: impl Fn(usize, &mut [E]) + Send + Sync,
    ) {
        match self {
            Self::Pool => items
                .par_chunks_mut(size)
                .enumerate()
                .for_each(|(index, chunk)| task(index, chunk)),
            Self::Caller => items
                .chunks_mut(size)
                .enumerate()
                .for_each(|(index, chunk)| task(index, chunk)),
        }
    }

    /// `task(index, a_chunk, b_chunk)` for each chunk of `size` items of
    /// two slices of equal length, in any order.
    fn for_each_chunk_pair<E: Send>(
        self,
        a: &mut [E],
        b: &mut [E],
        size: usize,
        task: impl Fn(usize, &mut [E], &mut [E]) + Send + Sync,
    ) {
        match self {
            Self::Pool => a
                .par_chunks_mut(size)
                .zip(b.par_chunks_mut(size))
                .enumerate()
                .for_each(|(index, (a, b))| task(index, a, b)),
            Self::Caller => a
                .chunks_mut(size)
                .zip(b.chunks_mut(size))
                .enumerate()
                .for_each(|(index, (a, b))| task(index, a, b)),
        }
    }
}

/// The rows of each shard of a step over `rows` rows: a function of `rows`
/// alone, so that the sums do not depend on the number of threads.
fn shard_rows(rows: usize) -> usize {
    rows.div_ceil(MAX_SHARDS).next_multiple_of(MIN_SHARD_ROWS)
}

/// Rows of the chunks a shard is taken in first, when their tape is small
/// enough for a thread's stack: as many as in a shard's smallest share
/// ([`MIN_SHARD_ROWS`]), or twice that. Each chunk adds its `Hᵀ·Δ` into the
/// shard's gradient, so for a wide layer (W4's 784 × 128) chunks of the 32
/// rows of [`Network::gradients_slice`] made a step 1.2× as long.
const SHARD_CHUNK_ROWS: usize = 2 * MIN_SHARD_ROWS;

/// Most stack a chunk of [`SHARD_CHUNK_ROWS`] rows may take, as
/// [`chunk_bytes`] counts it (W4's 128 rows: 540 KB); with `Δ` beside the
/// tape, a pass needs about 1.5 times as much, inside a 2 MiB thread's
/// stack.
const SHARD_CHUNK_BYTES: usize = 1 << 20;

/// Bytes of a chunk of `C` rows on the stack: the padded copies of its
/// inputs and targets, and the tape.
const fn chunk_bytes<N: Network, const C: usize>() -> usize {
    C * (size_of::<N::Input>() + size_of::<N::Target>()) + size_of::<N::Tape<C>>()
}

/// A shard's share of the loss and its `∂L/∂θ`, written into `grad`: in
/// chunks of [`SHARD_CHUNK_ROWS`], then [`MIN_SHARD_ROWS`], while their
/// tapes are small, then as [`Network::gradients_slice`] takes them.
fn shard_gradients<N: Network>(
    network: &N,
    x: &[N::Input],
    y: &[N::Target],
    batch_rows: usize,
    grad: &mut N,
) -> N::Float {
    let mut store = Store::Overwrite;
    let mut loss = N::Float::ZERO;
    let (mut x, mut y) = (x, y);
    if const { chunk_bytes::<N, SHARD_CHUNK_ROWS>() <= SHARD_CHUNK_BYTES } {
        loss += whole_chunks::<_, SHARD_CHUNK_ROWS>(
            network, &mut x, &mut y, batch_rows, grad, &mut store,
        );
        loss += whole_chunks::<_, MIN_SHARD_ROWS>(
            network, &mut x, &mut y, batch_rows, grad, &mut store,
        );
    }
    loss + gradients_of_rows(network, x, y, batch_rows, grad, &mut store)
}

/// One shard's gradient buffer and its share of the loss.
struct Shard<N: Network> {
    grad: N,
    loss: N::Float,
}

std::thread_local! {
    /// Buffers kept between steps, on the thread that runs them: one `Vec`
    /// of shards per network type, so a step allocates only the first time.
    static SPARE: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` with this thread's buffer of type `W`, made by `make` the
/// first time.
fn with_spare<W: 'static, R>(make: impl FnOnce() -> W, work: impl FnOnce(&mut W) -> R) -> R {
    let kept = SPARE.with_borrow_mut(|spares| {
        let index = spares.iter().position(|spare| spare.is::<W>())?;
        spares.swap_remove(index).downcast::<W>().ok()
    });
    let mut spare = kept.unwrap_or_else(|| Box::new(make()));
    let result = work(&mut spare);
    SPARE.with_borrow_mut(|spares| spares.push(spare));
    result
}

/// `∂L/∂θ` of the batch `x`, `y` (of equal, non-zero length) into `grad`,
/// computed shard by shard on [`threads`] threads; returns the loss.
pub(crate) fn gradients<N: Network>(
    network: &N,
    x: &[N::Input],
    y: &[N::Target],
    grad: &mut N,
) -> N::Float {
    with_shards::<N, _>(x.len(), |others, threads| {
        let loss = shard_pass(network, x, y, grad, others, threads);
        sum_shards(grad, others, None, threads);
        loss
    })
}

/// A step of plain gradient descent at `rate` on the batch `x`, `y` (of
/// equal, non-zero length), split as [`gradients`] splits it, with the
/// update `θ ← θ − η·g` made as each slice of the sum is known, on every
/// thread: the same arithmetic as [`Sgd`](crate::Sgd)'s step. Returns the
/// loss.
pub(crate) fn descend<N: Network>(
    network: &mut N,
    x: &[N::Input],
    y: &[N::Target],
    rate: N::Float,
) -> N::Float {
    let mut grad = network.take_gradient_buffer();
    let loss = with_shards::<N, _>(x.len(), |others, threads| {
        let loss = shard_pass(network, x, y, &mut grad, others, threads);
        sum_shards(
            &mut grad,
            others,
            Some((network.params_mut(), rate)),
            threads,
        );
        loss
    });
    network.keep_gradient_buffer(grad);
    loss
}

/// Runs `work` on the threads with a gradient buffer for every shard but
/// the first of a batch of `rows` rows: this thread's buffers, kept for the
/// largest batch so far, so that an epoch's short last batch uses fewer and
/// the next full one finds them all again.
fn with_shards<N: Network, R: Send>(
    rows: usize,
    work: impl FnOnce(&mut [Shard<N>], Threads) -> R + Send,
) -> R {
    let count = rows.div_ceil(shard_rows(rows));
    with_spare(Vec::<Shard<N>>::new, |kept| {
        while kept.len() < count - 1 {
            kept.push(Shard {
                grad: N::zeros(),
                loss: N::Float::ZERO,
            });
        }
        let others = &mut kept[..count - 1];
        on_threads(|threads| work(others, threads))
    })
}

/// Every shard's share of the loss and its `∂L/∂θ`: the first into
/// `grad`, the others into `others`; returns the loss, summed in shard
/// order.
fn shard_pass<N: Network>(
    network: &N,
    x: &[N::Input],
    y: &[N::Target],
    grad: &mut N,
    others: &mut [Shard<N>],
    threads: Threads,
) -> N::Float {
    let rows = x.len();
    let per_shard = shard_rows(rows);
    let shard = |index: usize, grad: &mut N| {
        let rows_of_shard = index * per_shard..((index + 1) * per_shard).min(rows);
        let (x, y) = (&x[rows_of_shard.clone()], &y[rows_of_shard]);
        shard_gradients(network, x, y, rows, grad)
    };
    let (first_loss, ()) = threads.join(
        || shard(0, grad),
        || {
            threads.for_each_chunk(others, 1, |index, other| {
                other[0].loss = shard(index + 1, &mut other[0].grad);
            });
        },
    );
    others
        .iter()
        .fold(first_loss, |loss, other| loss + other.loss)
}

/// `grad += others`, entry by entry in shard order whoever sums it, and
/// with `descend = Some((θ, η))` then `θ ← θ − η·grad` for the same entries.
fn sum_shards<N: Network>(
    grad: &mut N,
    others: &[Shard<N>],
    descend: Option<(&mut [N::Float], N::Float)>,
    threads: Threads,
) {
    let sum = |index: usize, sum: &mut [N::Float]| {
        let range = index * REDUCE_PARAMS..index * REDUCE_PARAMS + sum.len();
        for other in others {
            for (sum, value) in sum.iter_mut().zip(&other.grad.params()[range.clone()]) {
                *sum += *value;
            }
        }
    };
    match descend {
        None => threads.for_each_chunk(grad.params_mut(), REDUCE_PARAMS, sum),
        Some((params, rate)) => threads.for_each_chunk_pair(
            grad.params_mut(),
            params,
            REDUCE_PARAMS,
            |index, grad, params| {
                sum(index, grad);
                for (param, gradient) in params.iter_mut().zip(&*grad) {
                    *param -= rate * *gradient;
                }
            },
        ),
    }
}

/// [`Network::gradients_slice`] split across [`threads`] threads whatever
/// the batch's size (`x` and `y` of equal, non-zero length): what the
/// benchmark that sets [`PARALLEL_MULTIPLY_ADDS`] measures below it.
#[doc(hidden)]
pub fn gradients_split<N: Network>(
    network: &N,
    x: &[N::Input],
    y: &[N::Target],
    grad: &mut N,
) -> N::Float {
    assert!(
        !x.is_empty() && x.len() == y.len(),
        "a batch of matching rows"
    );
    gradients(network, x, y, grad)
}

/// [`Network::forward_slice`]'s work on [`threads`] threads, in blocks of
/// rows (`x` and `out` of equal length).
pub(crate) fn forward<N: Network>(network: &N, x: &[N::Input], out: &mut [N::Output]) {
    on_threads(|threads| {
        threads.for_each_chunk(out, FORWARD_ROWS, |index, out| {
            let start = index * FORWARD_ROWS;
            crate::network::forward_rows_of(network, &x[start..start + out.len()], out);
        });
    });
}

/// `losses[k] = step(k, members[k], optimizers[k])` for every member, the
/// members spread over [`threads`] threads (slices of equal length).
pub(crate) fn each_member<N: Network, O: Send>(
    members: &mut [N],
    optimizers: &mut [O],
    losses: &mut [N::Float],
    step: impl Fn(usize, &mut N, &mut O) -> N::Float + Send + Sync,
) {
    on_threads(|threads| match threads {
        Threads::Pool => members
            .par_iter_mut()
            .zip(optimizers)
            .zip(losses)
            .enumerate()
            .for_each(|(k, ((member, optimizer), loss))| *loss = step(k, member, optimizer)),
        Threads::Caller => {
            for (k, ((member, optimizer), loss)) in
                members.iter_mut().zip(optimizers).zip(losses).enumerate()
            {
                *loss = step(k, member, optimizer);
            }
        }
    });
}
