//! Training saved beside the weights: an optimizer's state ([`Resume`]) in
//! the same file, so that a run stopped and resumed takes the same steps as
//! one that never stopped.
//!
//! Each state buffer (`exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`,
//! `momentum_buffer`) holds one value per parameter and is written as the
//! parameters are, one tensor per weight and bias in PyTorch's layout, under
//! the buffer's name: `optimizer.exp_avg.0.weight` is `exp_avg` of
//! `0.weight`, as `torch.optim`'s `state_dict()` keeps it for that
//! parameter. The metadata adds `optimizer` (PyTorch's name of the kind)
//! and `optimizer_step`. [`load`](super::load) reads such a file's weights
//! and ignores the rest.

use std::borrow::ToOwned;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use super::{Layout, Parsed, WeightsError, bytes_of, load_file, params_of, read_layers, save_file};
use crate::{Network, Resume, StateError};

/// The prefix of every optimizer tensor's name.
pub(super) const OPTIMIZER_PREFIX: &str = "optimizer.";

/// Saves `network`'s parameters and `optimizer`'s state to `path`,
/// replacing the file atomically, as [`save`](super::save) does.
///
/// ```
/// use backprop::runtime::io;
/// use backprop::{Adam, Network};
///
/// backprop::network! { Net = 2 -> tanh(3) -> linear(1); loss = mse }
///
/// let (x, y) = ([[0.5, -1.0], [1.0, 0.25]], [[1.0], [-1.0]]);
/// let (mut net, mut adam) = (Net::seeded(1), Adam::new(0.01));
/// for _ in 0..3 {
///     net.train_step(&x, &y, &mut adam);
/// }
/// # let dir = std::env::temp_dir().join(format!("backprop-training-doctest-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("training.safetensors");
/// io::save_training(&net, &adam, &path)?;
///
/// // Later, or in another process: resume, and take the same step.
/// let (mut resumed, mut resumed_adam) = (Net::zeros(), Adam::new(0.01));
/// io::load_training(&mut resumed, &mut resumed_adam, &path)?;
/// net.train_step(&x, &y, &mut adam);
/// resumed.train_step(&x, &y, &mut resumed_adam);
/// assert_eq!(resumed.params(), net.params());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`WeightsError::OptimizerState`] if the optimizer's state is not one
/// value per parameter of `network` (it was used on another network), and
/// [`WeightsError::Write`] if the file cannot be written; an existing file
/// at `path` is then unchanged.
pub fn save_training<N, O>(
    network: &N,
    optimizer: &O,
    path: impl AsRef<Path>,
) -> Result<(), WeightsError>
where
    N: Network,
    O: Resume<N::Float> + ?Sized,
{
    save_file(path.as_ref(), &to_bytes_training(network, optimizer)?)
}

/// The bytes of the file [`save_training`] writes: the same network and
/// state always give the same bytes.
///
/// # Errors
///
/// [`WeightsError::OptimizerState`] if the optimizer's state is not one
/// value per parameter of `network`.
pub fn to_bytes_training<N, O>(network: &N, optimizer: &O) -> Result<Vec<u8>, WeightsError>
where
    N: Network,
    O: Resume<N::Float> + ?Sized,
{
    let mut buffers: Vec<(&'static str, Vec<N::Float>)> = Vec::new();
    optimizer.buffers(&mut |name, values| buffers.push((name, values.to_vec())));
    if let Some((name, values)) = buffers.iter().find(|(_, values)| values.len() != N::PARAMS) {
        return Err(WeightsError::OptimizerState(StateError::Length {
            name,
            expected: N::PARAMS,
            found: values.len(),
        }));
    }
    let state: Vec<(String, &[N::Float])> = buffers
        .iter()
        .map(|(name, values)| (format!("{OPTIMIZER_PREFIX}{name}."), &values[..]))
        .collect();
    let metadata = [
        ("optimizer", optimizer.kind().to_owned()),
        ("optimizer_step", optimizer.steps().to_string()),
    ];
    Ok(bytes_of(network, &[], &state, &metadata))
}

/// Loads `network`'s parameters and `optimizer`'s state from a file of
/// [`save_training`].
///
/// ```
/// use backprop::runtime::io::{self, WeightsError};
/// use backprop::{Adam, Network, Sgd};
///
/// backprop::network! { Net = 2 -> linear(1); loss = mse }
///
/// let bytes = io::to_bytes_training(&Net::seeded(1), &Adam::<Vec<f32>>::new(0.01))?;
/// // Adam's state is not SGD's: refused, and neither changes.
/// let (mut net, mut sgd) = (Net::seeded(2), Sgd::new(0.1).momentum(0.9));
/// let error = io::load_bytes_training(&mut net, &mut sgd, &bytes).unwrap_err();
/// assert_eq!(error.to_string(), "the file holds the state of Adam, not of the SGD given");
/// assert_eq!(net.params(), Net::seeded(2).params());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`WeightsError::Read`] if the file cannot be read, and otherwise the
/// errors of [`load_bytes_training`]. On any error `network` and
/// `optimizer` are left as they were.
pub fn load_training<N, O>(
    network: &mut N,
    optimizer: &mut O,
    path: impl AsRef<Path>,
) -> Result<(), WeightsError>
where
    N: Network,
    O: Resume<N::Float> + ?Sized,
{
    load_file(path.as_ref(), |bytes| {
        load_bytes_training(network, optimizer, bytes)
    })
}

/// Loads `network`'s parameters and `optimizer`'s state from the bytes of a
/// file of [`save_training`].
///
/// # Errors
///
/// The errors of [`load_bytes`](super::load_bytes) for the network's
/// tensors; then [`WeightsError::MissingOptimizerState`] for a file without
/// an optimizer's state, [`WeightsError::OtherOptimizer`] for another kind's,
/// [`WeightsError::MissingTensor`], [`WeightsError::UnexpectedTensor`],
/// [`WeightsError::WrongShape`] or [`WeightsError::WrongDtype`] for its
/// buffers' tensors, and [`WeightsError::OptimizerState`] for a state the
/// optimizer refuses (other options). On any error `network` and
/// `optimizer` are left as they were.
pub fn load_bytes_training<N, O>(
    network: &mut N,
    optimizer: &mut O,
    bytes: &[u8],
) -> Result<(), WeightsError>
where
    N: Network,
    O: Resume<N::Float> + ?Sized,
{
    let parsed = Parsed::new(bytes)?;
    let params = params_of::<N>(&parsed)?;
    let Parsed {
        file,
        found,
        metadata,
    } = parsed;
    let Some(kind) = metadata.get("optimizer") else {
        return Err(WeightsError::MissingOptimizerState);
    };
    if kind != optimizer.kind() {
        return Err(WeightsError::OtherOptimizer {
            found: kind.clone(),
            expected: optimizer.kind(),
        });
    }
    let steps = metadata
        .get("optimizer_step")
        .and_then(|steps| steps.parse::<u64>().ok())
        .ok_or_else(|| WeightsError::Corrupt {
            path: None,
            reason: "its `optimizer_step` metadata is not a step count".to_owned(),
        })?;

    let names = optimizer.buffer_names();
    let layout = Layout::of::<N>();
    let first_tensor = |name: &str| {
        let tensor = layout.names().next().unwrap_or_default();
        format!("{OPTIMIZER_PREFIX}{name}.{tensor}")
    };
    // Before its first step an optimizer has no state, and the file none.
    let has_state = names.iter().any(|name| found.contains(&first_tensor(name)));
    let mut buffers = Vec::with_capacity(names.len());
    if has_state {
        for name in names {
            let prefix = format!("{OPTIMIZER_PREFIX}{name}.");
            buffers.push(read_layers::<N>(&file, &found, &prefix)?);
        }
    }
    let expected: Vec<String> = if has_state {
        names
            .iter()
            .flat_map(|name| {
                layout
                    .names()
                    .map(move |tensor| format!("{OPTIMIZER_PREFIX}{name}.{tensor}"))
            })
            .collect()
    } else {
        vec![]
    };
    if let Some(name) = found
        .iter()
        .find(|name| name.starts_with(OPTIMIZER_PREFIX) && !expected.contains(name))
    {
        return Err(WeightsError::UnexpectedTensor {
            name: name.clone(),
            expected,
        });
    }
    let views: Vec<&[N::Float]> = buffers.iter().map(Vec::as_slice).collect();
    optimizer
        .restore(steps, &views)
        .map_err(WeightsError::OptimizerState)?;
    network.params_mut().copy_from_slice(&params);
    Ok(())
}
