//! An ensemble trains each member exactly as that network would train
//! alone, on the same batch or on its own, with any number of threads; a
//! bad call changes no member.

// Bit-for-bit equality is what these tests check.
#![allow(clippy::float_cmp)]

use backprop::ensemble::Ensemble;
use backprop::{Adam, BatchError, Network};

backprop::network! {
    /// Small, as ensemble members in reinforcement learning are.
    pub Q = 6 -> relu(32) -> tanh(32) -> linear(3); loss = mse
}

fn rows<const N: usize>(count: usize, seed: usize) -> Vec<[f32; N]> {
    (0..count)
        .map(|r| core::array::from_fn(|c| ((r * 19 + c * 5 + seed) % 17) as f32 / 17.0 - 0.5))
        .collect()
}

/// The thread counts to try: with the `parallel` feature the members are
/// spread over threads, and the results must not change.
fn thread_counts() -> Vec<usize> {
    if cfg!(feature = "parallel") {
        vec![1, 2, 3]
    } else {
        vec![1]
    }
}

fn set_threads(threads: usize) {
    #[cfg(feature = "parallel")]
    backprop::parallel::set_threads(threads);
    #[cfg(not(feature = "parallel"))]
    assert_eq!(threads, 1);
}

#[test]
fn members_are_seeded_one_after_another() {
    let ensemble = Ensemble::<Q>::seeded(4, 10);
    assert_eq!(ensemble.len(), 4);
    for (k, member) in ensemble.members().iter().enumerate() {
        assert_eq!(member, &Q::seeded(10 + k as u64));
    }
}

#[test]
fn each_member_trains_as_it_would_alone() {
    let (x, y) = (rows::<6>(256, 1), rows::<3>(256, 2));
    let mut alone: Vec<Q> = (0..6).map(|k| Q::seeded(20 + k)).collect();
    let mut adams = vec![Adam::new(1e-3); 6];
    let mut expected_losses = vec![[0.0; 6]; 3];
    for losses in &mut expected_losses {
        for ((net, adam), loss) in alone.iter_mut().zip(&mut adams).zip(losses.iter_mut()) {
            *loss = net.train_step_slice(&x, &y, adam).unwrap();
        }
    }
    for threads in thread_counts() {
        set_threads(threads);
        let mut ensemble = Ensemble::<Q>::seeded(6, 20);
        let mut adams = vec![Adam::new(1e-3); 6];
        for expected in &expected_losses {
            let mut losses = [0.0; 6];
            ensemble
                .train_step_slice(&x, &y, &mut adams, &mut losses)
                .unwrap();
            assert_eq!(&losses, expected, "{threads} threads");
        }
        assert_eq!(ensemble.members(), &alone[..], "{threads} threads");
    }
    set_threads(1);
}

#[test]
fn each_member_can_train_on_a_batch_of_its_own() {
    let (x, y) = (rows::<6>(300, 3), rows::<3>(300, 4));
    // Member k sees every row whose index is k modulo 3: a resample of its own.
    let own = |k: usize| -> (Vec<[f32; 6]>, Vec<[f32; 3]>) {
        (
            x.iter().skip(k).step_by(3).copied().collect(),
            y.iter().skip(k).step_by(3).copied().collect(),
        )
    };
    let batches: Vec<_> = (0..3).map(own).collect();
    let mut alone: Vec<Q> = (0..3).map(|k| Q::seeded(5 + k)).collect();
    for (k, net) in alone.iter_mut().enumerate() {
        net.train_step_slice(&batches[k].0, &batches[k].1, &mut Adam::new(1e-2))
            .unwrap();
    }
    for threads in thread_counts() {
        set_threads(threads);
        let mut ensemble = Ensemble::<Q>::seeded(3, 5);
        let mut adams = vec![Adam::new(1e-2); 3];
        let mut losses = [0.0; 3];
        ensemble
            .train_step_each(|k| (&batches[k].0, &batches[k].1), &mut adams, &mut losses)
            .unwrap();
        assert_eq!(ensemble.members(), &alone[..], "{threads} threads");
    }
    set_threads(1);
}

#[test]
fn a_bad_call_changes_no_member() {
    let (x, y) = (rows::<6>(64, 5), rows::<3>(64, 6));
    let mut ensemble = Ensemble::<Q>::seeded(3, 1);
    let before = ensemble.clone();
    let mut losses = [0.0; 3];

    let error = ensemble
        .train_step_slice(&x, &y, &mut vec![Adam::new(1e-3); 2], &mut losses)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the ensemble needs 3 optimizers, one per member, but was given 2"
    );
    let error = ensemble
        .train_step_slice(&x, &y, &mut vec![Adam::new(1e-3); 3], &mut [0.0; 4])
        .unwrap_err();
    assert_eq!(
        error,
        BatchError::Members {
            what: "losses, one per member,",
            needed: 3,
            given: 4
        }
    );
    // The last member's batch is short: the first two are not trained either.
    let error = ensemble
        .train_step_each(
            |k| {
                if k == 2 {
                    (&x[..], &y[..10])
                } else {
                    (&x[..], &y[..])
                }
            },
            &mut vec![Adam::new(1e-3); 3],
            &mut losses,
        )
        .unwrap_err();
    assert!(matches!(error, BatchError::RowMismatch { .. }), "{error}");
    let error = ensemble
        .train_step_each(
            |_| (&x[..0], &y[..0]),
            &mut vec![Adam::new(1e-3); 3],
            &mut losses,
        )
        .unwrap_err();
    assert_eq!(error, BatchError::Empty);
    assert_eq!(ensemble, before);
}

#[test]
fn outputs_come_member_by_member() {
    let ensemble = Ensemble::<Q>::seeded(3, 7);
    let x = rows::<6>(5, 8);
    let mut out = vec![[0.0; 3]; 15];
    ensemble.forward_slice(&x, &mut out).unwrap();
    for (k, member) in ensemble.members().iter().enumerate() {
        let mut alone = vec![[0.0; 3]; 5];
        member.forward_slice(&x, &mut alone).unwrap();
        assert_eq!(&out[5 * k..5 * (k + 1)], &alone[..], "member {k}");
    }
    assert_eq!(
        ensemble
            .forward_slice(&x, &mut out[..14])
            .unwrap_err()
            .to_string(),
        "the ensemble needs 15 output rows, one per member and input row, but was given 14"
    );
}

#[test]
fn a_batch_of_compile_time_size_trains_each_member_as_train_step_does() {
    let (x, y) = (rows::<6>(64, 9), rows::<3>(64, 10));
    let x: &[[f32; 6]; 64] = x.as_slice().try_into().unwrap();
    let y: &[[f32; 3]; 64] = y.as_slice().try_into().unwrap();
    let mut alone: Vec<Q> = (0..8).map(|k| Q::seeded(30 + k)).collect();
    let mut sgd = vec![backprop::Sgd::new(0.05); 8];
    let expected: Vec<f32> = alone
        .iter_mut()
        .zip(&mut sgd)
        .map(|(net, sgd)| net.train_step(x, y, sgd))
        .collect();
    for threads in thread_counts() {
        set_threads(threads);
        let mut ensemble = Ensemble::<Q>::seeded(8, 30);
        let mut sgd = vec![backprop::Sgd::new(0.05); 8];
        let mut losses = [0.0; 8];
        ensemble.train_step(x, y, &mut sgd, &mut losses).unwrap();
        assert_eq!(&losses[..], &expected[..], "{threads} threads");
        assert_eq!(ensemble.members(), &alone[..], "{threads} threads");
    }
    set_threads(1);
}
