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
//! The calling thread computes shards itself, beside helpers from a
//! `rayon` pool, and each thread takes the next shard nobody has taken, so
//! a helper that wakes late costs little; the sum is shared the same way.
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
use std::thread;
use std::vec::Vec;

use crate::kernels::Store;
use crate::network::{gradients_of_rows, whole_chunks};
use crate::{Float, Network};

/// Forward multiply-adds of a batch (rows × [`Network::MACS`]) from which
/// its passes are split across threads. Measured on a 2-core x86-64
/// machine (`cargo bench -p backprop-benches --features parallel --bench
/// w7_parallel -- threshold`): W3's gradient of 128 rows (1.2 M
/// multiply-adds, about 75 µs) took 0.60 of the time with a second thread;
/// of 64 rows it is one shard (shards hold at least 64 rows), with nothing to
/// share.
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

/// Fewest rows of one task of [`forward`].
const FORWARD_ROWS: usize = 256;

/// Most tasks of one [`share`]: the blocks a sum, a forward pass or an
/// ensemble's members are cut into, enough to even out two to eight
/// threads.
const TASKS: usize = 16;

/// Additions (parameters × shards summed into the first) from which the
/// shards' sum is shared among the threads: W3's (10 k parameters, two
/// shards at batch 128) takes a few microseconds, less than handing half
/// of it over; W4's (100 k) is ten times as much.
const SHARED_SUM_ADDITIONS: usize = 1 << 15;

/// Spins a thread waits for the others' last tasks before it yields its
/// core at each turn instead: longer than a task's usual lateness (about
/// 400 µs on a 2-core AMD EPYC, whose `pause` takes some 60 cycles).
const SPINS_BEFORE_YIELDING: u32 = 1 << 14;

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

/// `task(index, item)` for each of the `items` that is `Some`, at once on
/// the calling thread and on up to [`threads`]` - 1` helpers from [`pool`],
/// each taking the next item nobody has taken until none is left.
///
/// The caller works rather than waiting for the pool, and spins rather
/// than sleeping while the last items finish: a step of a few hundred
/// microseconds is then not lengthened by a sleeping thread's wake-up
/// (30–60 µs on a virtual machine), and a helper that starts late finds
/// its work done. Each helper is one job spawned into the pool, a few
/// dozen bytes allocated and freed within the call.
fn share<I: Send, const N: usize>(items: [Option<I>; N], task: impl Fn(usize, I) + Sync) {
    share_on(threads(), items, task);
}

/// [`share`] on at most `threads` threads.
fn share_on<I: Send, const N: usize>(
    threads: usize,
    items: [Option<I>; N],
    task: impl Fn(usize, I) + Sync,
) {
    let count = items.iter().filter(|item| item.is_some()).count();
    let slots = items.map(Mutex::new);
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let work = || {
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = slots.get(index) else { break };
            let Some(item) = slot.lock().unwrap_or_else(PoisonError::into_inner).take() else {
                continue;
            };
            // Counted even if `task` panics, so nobody waits for it forever.
            let _finished = Finished(&finished);
            task(index, item);
        }
    };
    let helpers = (threads - 1).min(count.saturating_sub(1));
    // Only a call with helpers looks up the pool, which takes a lock.
    match (helpers > 0).then(pool).flatten() {
        None => work(),
        Some(pool) => pool.in_place_scope(|scope| {
            for _ in 0..helpers {
                scope.spawn(|_| work());
            }
            work();
            let mut spins = 0_u32;
            while finished.load(Ordering::Acquire) < count {
                if spins < SPINS_BEFORE_YIELDING {
                    spins += 1;
                    core::hint::spin_loop();
                } else {
                    thread::yield_now();
                }
            }
        }),
    }
}

/// Counts one finished task of [`share`] when dropped.
struct Finished<'a>(&'a AtomicUsize);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

/// The first `N` of `items` as the items of a [`share`] (the rest `None`).
fn tasks<T, const N: usize>(items: impl IntoIterator<Item = T>) -> [Option<T>; N] {
    let mut items = items.into_iter();
    let tasks = core::array::from_fn(|_| items.next());
    assert!(items.next().is_none(), "at most {N} tasks");
    tasks
}

/// Items of each of [`TASKS`] tasks over `len` items, at least `fewest`.
fn task_size(len: usize, fewest: usize) -> usize {
    len.div_ceil(TASKS).max(fewest).max(1)
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
    with_shards::<N, _>(x.len(), |others| {
        let loss = shard_pass(network, x, y, grad, others);
        sum_shards(grad, others, None);
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
    let loss = with_shards::<N, _>(x.len(), |others| {
        let loss = shard_pass(network, x, y, &mut grad, others);
        sum_shards(&mut grad, others, Some((network.params_mut(), rate)));
        loss
    });
    network.keep_gradient_buffer(grad);
    loss
}

/// Runs `work` with a gradient buffer for every shard but the first of a
/// batch of `rows` rows: this thread's buffers, kept for the largest batch
/// so far, so that an epoch's short last batch uses fewer and the next full
/// one finds them all again.
fn with_shards<N: Network, R>(rows: usize, work: impl FnOnce(&mut [Shard<N>]) -> R) -> R {
    let count = rows.div_ceil(shard_rows(rows));
    with_spare(Vec::<Shard<N>>::new, |kept| {
        while kept.len() < count - 1 {
            kept.push(Shard {
                grad: N::zeros(),
                loss: N::Float::ZERO,
            });
        }
        work(&mut kept[..count - 1])
    })
}

/// Every shard's share of the loss and its `∂L/∂θ`: the first into
/// `grad`, the others into `others`, shared among the threads; returns the
/// loss, summed in shard order.
fn shard_pass<N: Network>(
    network: &N,
    x: &[N::Input],
    y: &[N::Target],
    grad: &mut N,
    others: &mut [Shard<N>],
) -> N::Float {
    let rows = x.len();
    let per_shard = shard_rows(rows);
    let mut first_loss = N::Float::ZERO;
    let shards = core::iter::once((grad, &mut first_loss)).chain(
        others
            .iter_mut()
            .map(|other| (&mut other.grad, &mut other.loss)),
    );
    share(tasks::<_, MAX_SHARDS>(shards), |index, (grad, loss)| {
        let rows_of_shard = index * per_shard..((index + 1) * per_shard).min(rows);
        let (x, y) = (&x[rows_of_shard.clone()], &y[rows_of_shard]);
        *loss = shard_gradients(network, x, y, rows, grad);
    });
    others
        .iter()
        .fold(first_loss, |loss, other| loss + other.loss)
}

/// `grad += others`, entry by entry in shard order whoever sums it, and
/// with `descend = Some((θ, η))` then `θ ← θ − η·grad` for the same
/// entries: block by block, the blocks shared among the threads.
fn sum_shards<N: Network>(
    grad: &mut N,
    others: &[Shard<N>],
    descend: Option<(&mut [N::Float], N::Float)>,
) {
    let params = grad.params().len();
    let block = task_size(params, 1);
    let rate = descend.as_ref().map(|(_, rate)| *rate);
    let mut theta = descend.map(|(theta, _)| theta.chunks_mut(block));
    let blocks = grad
        .params_mut()
        .chunks_mut(block)
        .map(|sum| (sum, theta.as_mut().and_then(Iterator::next)));
    let additions = params.saturating_mul(others.len().max(1));
    let threads = if additions >= SHARED_SUM_ADDITIONS {
        threads()
    } else {
        1
    };
    share_on(threads, tasks::<_, TASKS>(blocks), |index, (sum, theta)| {
        let range = index * block..index * block + sum.len();
        for other in others {
            for (sum, value) in sum.iter_mut().zip(&other.grad.params()[range.clone()]) {
                *sum += *value;
            }
        }
        if let (Some(theta), Some(rate)) = (theta, rate) {
            for (param, gradient) in theta.iter_mut().zip(&*sum) {
                *param -= rate * *gradient;
            }
        }
    });
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
/// at least [`FORWARD_ROWS`] rows (`x` and `out` of equal length).
pub(crate) fn forward<N: Network>(network: &N, x: &[N::Input], out: &mut [N::Output]) {
    let size = task_size(out.len(), FORWARD_ROWS);
    share(tasks::<_, TASKS>(out.chunks_mut(size)), |index, out| {
        let start = index * size;
        crate::network::forward_rows_of(network, &x[start..start + out.len()], out);
    });
}

/// `losses[k] = step(k, members[k], optimizers[k])` for every member, the
/// members spread over [`threads`] threads (slices of equal length).
pub(crate) fn each_member<N: Network, O: Send>(
    members: &mut [N],
    optimizers: &mut [O],
    losses: &mut [N::Float],
    step: impl Fn(usize, &mut N, &mut O) -> N::Float + Sync,
) {
    let size = task_size(members.len(), 1);
    let groups = members
        .chunks_mut(size)
        .zip(optimizers.chunks_mut(size))
        .zip(losses.chunks_mut(size));
    share(
        tasks::<_, TASKS>(groups),
        |index, ((members, optimizers), losses)| {
            let members = members.iter_mut().zip(optimizers).zip(losses);
            for (k, ((member, optimizer), loss)) in (index * size..).zip(members) {
                *loss = step(k, member, optimizer);
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use super::*;

    #[test]
    fn every_task_runs_once_whatever_the_threads() {
        for threads in 1..=4 {
            set_threads(threads);
            let runs: [AtomicUsize; TASKS] = core::array::from_fn(|_| AtomicUsize::new(0));
            share(tasks::<_, TASKS>(0..TASKS - 3), |index, item| {
                assert_eq!(index, item);
                runs[index].fetch_add(1, Ordering::Relaxed);
            });
            let runs = runs.map(AtomicUsize::into_inner);
            assert_eq!(runs[..TASKS - 3], [1; TASKS - 3], "{threads} threads");
            assert_eq!(runs[TASKS - 3..], [0; 3], "{threads} threads");
        }
    }

    #[test]
    fn a_panicking_task_panics_the_caller_instead_of_hanging() {
        set_threads(2);
        let shared = catch_unwind(AssertUnwindSafe(|| {
            share(tasks::<_, 4>(0..4), |index, _| {
                assert_ne!(index, 3, "task 3 fails");
            });
        }));
        assert!(shared.is_err());
    }
}
