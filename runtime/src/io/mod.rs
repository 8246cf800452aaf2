//! Weights on disk as [safetensors], laid out as PyTorch lays them out.
//!
//! A network's file holds the tensors of the `nn.Sequential` that alternates
//! `nn.Linear` and an activation module (`nn.Identity()` for a `linear`
//! layer), so layer `l`'s `nn.Linear` is module `2(l − 1)`:
//!
//! | tensor | shape | holds |
//! | --- | --- | --- |
//! | `0.weight` | `[n₁, n₀]` | `W¹ᵀ`: PyTorch stores `[out, in]`, the transpose of backprop's `n₀ × n₁` |
//! | `0.bias` | `[n₁]` | `b¹` |
//! | `2.weight` | `[n₂, n₁]` | `W²ᵀ` |
//! | `2.bias` | `[n₂]` | `b²` |
//! | … | | |
//!
//! with dtype `F32` or `F64`, the network's float type. A model trained in
//! PyTorch as
//! `nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3), nn.Identity())`
//! and saved with `safetensors.torch.save_file(model.state_dict(), path)`
//! loads into `4 -> tanh(5) -> linear(3)`, and a file saved here loads with
//! `model.load_state_dict(safetensors.torch.load_file(path))`. Activation
//! modules have no parameters, so PyTorch's file does not record them:
//! such a file loads on its tensors' names and shapes. Files written here
//! also carry metadata: `format` (`pt`), `architecture` (the network as
//! the `network!` DSL spells it), `float` and `backprop_version`; a file
//! whose recorded architecture is another network's is refused
//! ([`WeightsError::OtherArchitecture`]), even when its tensors fit.
//!
//! [`save_with_standardiser`] adds a [`Standardiser`]'s statistics as two
//! more tensors, [`STANDARDISER_MEAN`] and [`STANDARDISER_SCALE`], so the
//! scaling of the inputs travels with the weights; [`load`] ignores them and
//! [`load_with_standardiser`] reads both.
//!
//! [`load`] and [`load_bytes`] check every tensor's name, shape and dtype
//! before they change anything: on any error the network keeps its
//! parameters, and the [`WeightsError`] names the tensor and what the network
//! needs instead. [`save`] replaces the file atomically, and the same
//! parameters always give the same bytes.
//!
//! ```
//! use backprop::runtime::io::{self, WeightsError};
//! use backprop::Network;
//!
//! backprop::network! { Net = 4 -> tanh(5) -> linear(3); loss = mse }
//!
//! # let dir = std::env::temp_dir().join(format!("backprop-io-doctest-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let path = dir.join("net.safetensors");
//! let net = Net::seeded(7);
//! io::save(&net, &path)?;
//!
//! let mut loaded = Net::zeros();
//! io::load(&mut loaded, &path)?;
//! assert_eq!(loaded.params(), net.params());
//!
//! // A file for another architecture is refused, and the network is unchanged.
//! backprop::network! { Wider = 4 -> tanh(6) -> linear(3); loss = mse }
//! let error = io::load_bytes(&mut loaded, &io::to_bytes(&Wider::seeded(1))).unwrap_err();
//! assert!(matches!(error, WeightsError::WrongShape { .. }));
//! assert_eq!(
//!     error.to_string(),
//!     "tensor `0.weight` has shape [6, 4]; this network needs [5, 4] \
//!      (layer 1 has 4 inputs and 5 units; nn.Linear stores its weight as [out, in])"
//! );
//! assert_eq!(loaded.params(), net.params());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [safetensors]: https://huggingface.co/docs/safetensors

use core::fmt::{self, Write as _};
use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};

use std::borrow::ToOwned;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

/// The [safetensors](https://docs.rs/safetensors) crate this module reads
/// files with, to inspect them beyond what [`load`] checks.
pub use safetensors;
use safetensors::{Dtype, SafeTensorError, SafeTensors};

use crate::data::{Standardiser, StandardiserError};
use crate::{Architecture, Float, Network, Recurrent, StateError};

mod training;

pub use training::{load_bytes_training, load_training, save_training, to_bytes_training};

/// The name of the tensor of a [`Standardiser`]'s means in a file of
/// [`save_with_standardiser`]: shape `[n₀]`, one per input, in the
/// network's float type.
pub const STANDARDISER_MEAN: &str = "standardiser.mean";

/// The name of the tensor of a [`Standardiser`]'s scales, beside
/// [`STANDARDISER_MEAN`].
pub const STANDARDISER_SCALE: &str = "standardiser.scale";

/// Why weights could not be loaded or saved.
///
/// Loading errors other than [`Read`](WeightsError::Read) and
/// [`Corrupt`](WeightsError::Corrupt) describe the content, whether it came
/// from a file or from bytes.
#[derive(Debug)]
#[non_exhaustive]
pub enum WeightsError {
    /// The file could not be read; the message ends with the cause.
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system reported.
        source: io::Error,
    },
    /// The file could not be written; an existing file at `path` is
    /// unchanged. The message ends with the cause.
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system reported.
        source: io::Error,
    },
    /// The bytes are not a valid safetensors file: truncated, corrupt, or
    /// something else entirely.
    Corrupt {
        /// The file, when they were read by [`load`].
        path: Option<PathBuf>,
        /// What is wrong with them.
        reason: String,
    },
    /// A tensor the network needs is not in the file.
    MissingTensor {
        /// The tensor, such as `2.weight`.
        name: String,
        /// Every tensor the file has, sorted.
        found: Vec<String>,
    },
    /// The file has a tensor the network does not have.
    UnexpectedTensor {
        /// The tensor.
        name: String,
        /// The tensors the network has, in order.
        expected: Vec<String>,
    },
    /// A tensor has a shape other than the network's.
    WrongShape {
        /// The tensor.
        name: String,
        /// Its shape in the file.
        found: Vec<usize>,
        /// The shape the network needs: `[out, in]` for a weight, `[out]`
        /// for a bias.
        expected: Vec<usize>,
    },
    /// A tensor's element type is not the network's float type.
    WrongDtype {
        /// The tensor.
        name: String,
        /// Its dtype in the file, as safetensors spells it (`F64`, `BF16`, …).
        found: String,
        /// The dtype the network needs, `F32` or `F64`.
        expected: &'static str,
    },
    /// The tensors fit, but the file records that it was saved from another
    /// network (other activations, loss or options), as the `network!` DSL
    /// spells it. Files without that record, such as PyTorch's, load on
    /// their tensors' names and shapes alone.
    OtherArchitecture {
        /// The architecture the file records.
        found: String,
        /// This network's.
        expected: String,
    },
    /// [`load_with_standardiser`] found no standardiser's tensor in the
    /// file: it was saved without one ([`save`], or PyTorch).
    MissingStandardiser {
        /// The tensor, [`STANDARDISER_MEAN`] or [`STANDARDISER_SCALE`].
        name: &'static str,
    },
    /// The file's standardiser has a mean that is not finite, or a scale
    /// that is not finite and positive.
    InvalidStandardiser {
        /// The tensor, [`STANDARDISER_MEAN`] or [`STANDARDISER_SCALE`].
        name: &'static str,
        /// What is wrong with it.
        error: StandardiserError,
    },
    /// [`load_training`] found no optimizer's state in the file: it was
    /// saved with [`save`] (or by PyTorch), not [`save_training`].
    MissingOptimizerState,
    /// The file holds another optimizer's state.
    OtherOptimizer {
        /// The optimizer the file records, as PyTorch names it (`Adam`, …).
        found: String,
        /// The optimizer given.
        expected: &'static str,
    },
    /// The optimizer's state in the file does not fit the optimizer given
    /// (other options, such as `amsgrad` or momentum), or, when saving, the
    /// optimizer's state does not fit the network.
    OptimizerState(StateError),
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, source } => {
                write!(
                    f,
                    "could not read weights from `{}`: {source}",
                    path.display()
                )
            }
            Self::Write { path, source } => {
                write!(
                    f,
                    "could not save weights to `{}`: {source}",
                    path.display()
                )
            }
            Self::Corrupt { path, reason } => {
                if let Some(path) = path {
                    write!(f, "`{}` is ", path.display())?;
                }
                write!(f, "not a valid safetensors file: {reason}")
            }
            Self::MissingTensor { name, found } => {
                write!(
                    f,
                    "the file has no tensor `{name}`, which this network needs; "
                )?;
                if found.is_empty() {
                    f.write_str("it has no tensors")?;
                } else {
                    f.write_str("it has ")?;
                    write_names(f, found)?;
                }
                f.write_str(naming(name))
            }
            Self::UnexpectedTensor { name, expected } => {
                write!(
                    f,
                    "the file has a tensor `{name}` that this network does not have; it needs "
                )?;
                write_names(f, expected)?;
                f.write_str(
                    " (the file was saved from another architecture, \
                     or from a model with parameters outside its nn.Linear layers)",
                )
            }
            Self::WrongShape {
                name,
                found,
                expected,
            } => write_wrong_shape(f, name, found, expected),
            Self::WrongDtype {
                name,
                found,
                expected,
            } => {
                let (conversion, float) = if *expected == "F64" {
                    ("model.double()", "f32")
                } else {
                    ("model.float()", "f64")
                };
                write!(
                    f,
                    "tensor `{name}` has dtype {found}; this network needs {expected} \
                     (convert the model with `{conversion}` in PyTorch before saving"
                )?;
                if found.eq_ignore_ascii_case(float) {
                    write!(f, ", or declare the network with `float = {float}`")?;
                }
                f.write_str(")")
            }
            Self::OtherArchitecture { found, expected } => write!(
                f,
                "the file was saved from `{found}`, not from this network, `{expected}`; \
                 its tensors fit, but they were trained for other activations or another loss"
            ),
            Self::MissingStandardiser { name } => write!(
                f,
                "the file has no tensor `{name}`: it holds weights without a standardiser's \
                 statistics (save them with io::save_with_standardiser, or load the weights \
                 alone with io::load)"
            ),
            Self::InvalidStandardiser { name, error } => {
                write!(f, "the file's standardiser (`{name}`) is invalid: {error}")
            }
            Self::MissingOptimizerState => f.write_str(
                "the file has no optimizer's state: it holds weights alone (save training \
                 with io::save_training, or load the weights with io::load)",
            ),
            Self::OtherOptimizer { found, expected } => write!(
                f,
                "the file holds the state of {found}, not of the {expected} given"
            ),
            Self::OptimizerState(error) => {
                write!(f, "the optimizer's state does not fit: {error}")
            }
        }
    }
}

/// How a missing tensor should have been named: as a recurrent module's
/// or as an `nn.Linear`'s.
fn naming(name: &str) -> &'static str {
    if name.contains("_l") {
        " (recurrent layers are named as nn.LSTM and nn.GRU name them, \
         `{m}.weight_ih_l{k}`, `{m}.weight_hh_l{k}`, `{m}.bias_ih_l{k}`, \
         `{m}.bias_hh_l{k}`, for layer k of module m, then the dense layers)"
    } else {
        " (layer l's tensors are `{2(l - 1)}.weight` and `{2(l - 1)}.bias`, \
         as in a PyTorch nn.Sequential that alternates nn.Linear and activation modules)"
    }
}

/// [`WeightsError::WrongShape`]'s message: the shapes, and what the
/// network's layer or standardiser needs.
fn write_wrong_shape(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    found: &[usize],
    expected: &[usize],
) -> fmt::Result {
    write!(
        f,
        "tensor `{name}` has shape {found:?}; this network needs {expected:?}"
    )?;
    if name == STANDARDISER_MEAN || name == STANDARDISER_SCALE {
        return f.write_str(" (a standardiser has one value per input of the network)");
    }
    if name
        .split_once('.')
        .is_some_and(|(_, tensor)| tensor.contains("_l"))
    {
        return f.write_str(
            " (a recurrent layer stores `weight_ih_lk` as [gates·hidden, inputs], \
             `weight_hh_lk` as [gates·hidden, hidden] and its biases as [gates·hidden], \
             as nn.LSTM (4 gates) and nn.GRU (3) do)",
        );
    }
    let layer = name
        .split('.')
        .next()
        .and_then(|index| index.parse::<usize>().ok())
        .map_or(0, |index| index / 2 + 1);
    match *expected {
        [outputs, inputs] => write!(
            f,
            " (layer {layer} has {inputs} inputs and {outputs} units; \
             nn.Linear stores its weight as [out, in])"
        ),
        [outputs] => write!(f, " (layer {layer} has {outputs} units)"),
        _ => Ok(()),
    }
}

/// `` `a`, `b`, `c` ``, and how many more after the first few of a long list.
fn write_names(f: &mut fmt::Formatter<'_>, names: &[String]) -> fmt::Result {
    const SHOWN: usize = 8;
    for (i, name) in names.iter().take(SHOWN).enumerate() {
        let separator = if i == 0 { "" } else { ", " };
        write!(f, "{separator}`{name}`")?;
    }
    if names.len() > SHOWN {
        write!(f, " and {} more", names.len() - SHOWN)?;
    }
    Ok(())
}

/// No error has a [`source`](std::error::Error::source): the operating
/// system's cause of a failed read or write is in the message itself (and
/// in the variant's `source` field), since a message printed with `{}`
/// should say why, and a cause both in the message and in `source()` would
/// be printed twice by error reporters that follow the chain.
impl std::error::Error for WeightsError {}

/// Saves `network`'s parameters to the safetensors file `path`, replacing it
/// if it exists.
///
/// The file is written atomically: the bytes go to a temporary file in the
/// same directory, which is flushed to disk and then renamed over `path`. A
/// crash or a failed write never leaves a partial file at `path`: it holds
/// either the old weights or the new ones (a crash can leave the temporary
/// file, `.<name>.<pid>.<n>.tmp`, beside it). A file that is replaced keeps its
/// permissions; a symbolic link at `path` is replaced, not followed.
///
/// The same parameters always give the same file, byte for byte: the bytes
/// of [`to_bytes`].
///
/// ```
/// # use backprop::Network;
/// backprop::network! { Net = 2 -> relu(3) -> linear(1); loss = mse; float = f64 }
///
/// # let dir = std::env::temp_dir().join(format!("backprop-save-doctest-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("net.safetensors");
/// backprop::runtime::io::save(&Net::seeded(1), &path)?;
/// assert_eq!(std::fs::read(&path)?, backprop::runtime::io::to_bytes(&Net::seeded(1)));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`WeightsError::Write`] if the file cannot be written, such as when its
/// directory does not exist; `path` is then left as it was.
pub fn save<N: Network>(network: &N, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    save_file(path.as_ref(), &to_bytes(network))
}

/// Loads `network`'s parameters from the safetensors file `path`.
///
/// Every tensor's name, shape and dtype is checked, and the file must hold
/// exactly the network's tensors, besides a standardiser's
/// ([`STANDARDISER_MEAN`] and [`STANDARDISER_SCALE`], written by
/// [`save_with_standardiser`]), which it leaves alone; only then are the
/// parameters replaced.
///
/// ```
/// # use backprop::Network;
/// backprop::network! { Net = 2 -> relu(3) -> linear(1); loss = mse }
///
/// let mut net = Net::seeded(1);
/// let error = backprop::runtime::io::load(&mut net, "no/such/file.safetensors").unwrap_err();
/// assert!(error.to_string().starts_with("could not read weights from `no/such/file.safetensors`: "));
/// assert_eq!(net.params(), Net::seeded(1).params());
///
/// // A file that is not safetensors at all is named in the error.
/// # let dir = std::env::temp_dir().join(format!("backprop-load-doctest-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("empty.safetensors");
/// std::fs::write(&path, b"")?;
/// let error = backprop::runtime::io::load(&mut net, &path).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     format!("`{}` is not a valid safetensors file: it is empty", path.display())
/// );
/// assert_eq!(net.params(), Net::seeded(1).params());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`WeightsError::Read`] if the file cannot be read, and otherwise the
/// errors of [`load_bytes`]. On any error `network` is left as it was.
pub fn load<N: Network>(network: &mut N, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    load_file(path.as_ref(), |bytes| load_bytes(network, bytes))
}

/// Loads `network`'s parameters from the bytes of a safetensors file.
///
/// ```
/// # use backprop::Network;
/// use backprop::runtime::io::{self, WeightsError};
///
/// backprop::network! { Net32 = 2 -> relu(3) -> linear(1); loss = mse }
/// backprop::network! { Net64 = 2 -> relu(3) -> linear(1); loss = mse; float = f64 }
///
/// let mut net = Net32::zeros();
/// io::load_bytes(&mut net, &io::to_bytes(&Net32::seeded(5)))?;
/// assert_eq!(net.params(), Net32::seeded(5).params());
///
/// let error = io::load_bytes(&mut net, &io::to_bytes(&Net64::seeded(5))).unwrap_err();
/// assert!(matches!(error, WeightsError::WrongDtype { expected: "F32", .. }));
/// # Ok::<(), WeightsError>(())
/// ```
///
/// # Errors
///
/// - [`WeightsError::Corrupt`] if `bytes` are not a valid safetensors file;
/// - [`WeightsError::MissingTensor`] or [`WeightsError::UnexpectedTensor`] if
///   the file's tensors are not exactly the network's;
/// - [`WeightsError::WrongShape`] or [`WeightsError::WrongDtype`] if a
///   tensor's shape or element type differs from the network's.
///
/// On any error `network` is left as it was.
pub fn load_bytes<N: Network>(network: &mut N, bytes: &[u8]) -> Result<(), WeightsError> {
    let params = read_params::<N>(bytes)?;
    network.params_mut().copy_from_slice(&params);
    Ok(())
}

/// Saves a recurrent network (a `network!` with `lstm` or `gru` layers) to
/// the safetensors file `path`, in the names and layout of PyTorch's
/// `state_dict()`: each run of recurrent layers of one cell and width is
/// one `nn.LSTM` or `nn.GRU` module (`num_layers` of them), with
/// `weight_ih_l{k}` `[G·H, I]`, `weight_hh_l{k}` `[G·H, H]`,
/// `bias_ih_l{k}` and `bias_hh_l{k}` `[G·H]`; the dense layers follow as
/// [`save`] writes them, their module numbers after the recurrent ones.
///
/// ```
/// use backprop::runtime::io;
/// use backprop::runtime::io::safetensors::SafeTensors;
/// use backprop::Recurrent;
///
/// backprop::network! { Amp = 1 -> lstm(8) -> lstm(8) -> linear(1); loss = mse }
///
/// let bytes = io::to_bytes_recurrent(&Amp::seeded(1));
/// let file = SafeTensors::deserialize(&bytes)?;
/// assert_eq!(file.tensor("0.weight_ih_l0")?.shape(), [32, 1]);
/// assert_eq!(file.tensor("0.weight_hh_l1")?.shape(), [32, 8]);
/// assert_eq!(file.tensor("1.weight")?.shape(), [1, 8]);
///
/// let mut loaded = Amp::zeros();
/// io::load_bytes_recurrent(&mut loaded, &bytes)?;
/// assert_eq!(loaded, Amp::seeded(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`save`].
pub fn save_recurrent<N: Recurrent>(
    network: &N,
    path: impl AsRef<Path>,
) -> Result<(), WeightsError> {
    save_file(path.as_ref(), &to_bytes_recurrent(network))
}

/// The bytes of the file [`save_recurrent`] writes.
#[must_use]
pub fn to_bytes_recurrent<N: Recurrent>(network: &N) -> Vec<u8> {
    bytes_in(
        &Layout::of_recurrent::<N>(),
        network.params(),
        &[],
        &[],
        &[],
    )
}

/// Loads a recurrent network's parameters from the safetensors file
/// `path`, as [`save_recurrent`] or PyTorch's
/// `safetensors.torch.save_file(model.state_dict(), path)` writes them.
///
/// # Errors
///
/// As [`load`]; on any error `network` is left as it was.
pub fn load_recurrent<N: Recurrent>(
    network: &mut N,
    path: impl AsRef<Path>,
) -> Result<(), WeightsError> {
    load_file(path.as_ref(), |bytes| load_bytes_recurrent(network, bytes))
}

/// Loads a recurrent network's parameters from the bytes of a safetensors
/// file: every tensor's name, shape and dtype is checked first.
///
/// # Errors
///
/// As [`load_bytes`]; on any error `network` is left as it was.
pub fn load_bytes_recurrent<N: Recurrent>(
    network: &mut N,
    bytes: &[u8],
) -> Result<(), WeightsError> {
    let params = params_in::<N::Float>(&Parsed::new(bytes)?, &Layout::of_recurrent::<N>())?;
    network.params_mut().copy_from_slice(&params);
    Ok(())
}

/// Saves `network`'s parameters and `standardiser`'s statistics to the
/// safetensors file `path`, as [`save`] does: the network's tensors, then
/// [`STANDARDISER_MEAN`] and [`STANDARDISER_SCALE`], of shape `[n₀]`.
/// Deployment then scales its inputs as training did, from the same file.
///
/// [`load`] reads the network from such a file and leaves the two tensors
/// alone; so does PyTorch's `load_state_dict` once they are removed from
/// the dictionary (`safetensors.torch.load_file` reads them too).
///
/// ```
/// use backprop::data::Standardiser;
/// use backprop::runtime::io;
/// use backprop::Network;
///
/// backprop::network! { Net = 2 -> tanh(4) -> linear(1); loss = mse }
///
/// # let dir = std::env::temp_dir().join(format!("backprop-save-std-doctest-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("net.safetensors");
/// let scaler = Standardiser::fit(&[[1.0, 100.0], [3.0, 300.0]])?;
/// io::save_with_standardiser(&Net::seeded(3), &scaler, &path)?;
///
/// let (mut net, mut loaded) = (Net::zeros(), Standardiser::identity());
/// io::load_with_standardiser(&mut net, &mut loaded, &path)?;
/// assert_eq!((net.params(), &loaded), (Net::seeded(3).params(), &scaler));
///
/// // The weights alone load too.
/// let mut weights_only = Net::zeros();
/// io::load(&mut weights_only, &path)?;
/// assert_eq!(weights_only.params(), Net::seeded(3).params());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`save`].
pub fn save_with_standardiser<T, const I: usize, N>(
    network: &N,
    standardiser: &Standardiser<T, I>,
    path: impl AsRef<Path>,
) -> Result<(), WeightsError>
where
    T: Float,
    N: Network<Float = T, Input = [T; I]>,
{
    save_file(
        path.as_ref(),
        &to_bytes_with_standardiser(network, standardiser),
    )
}

/// The bytes of the file [`save_with_standardiser`] writes: the same
/// network and statistics always give the same bytes.
///
/// ```
/// use backprop::data::Standardiser;
/// use backprop::runtime::io::{self, safetensors::SafeTensors};
///
/// backprop::network! { Net = 2 -> linear(1); loss = mse }
///
/// let scaler = Standardiser::from_parts([0.5, -1.0], [2.0, 4.0])?;
/// let bytes = io::to_bytes_with_standardiser(&Net::seeded(1), &scaler);
/// let file = SafeTensors::deserialize(&bytes)?;
/// let scale = file.tensor(io::STANDARDISER_SCALE)?;
/// assert_eq!(scale.shape(), [2]);
/// assert_eq!(scale.data(), [2.0_f32.to_le_bytes(), 4.0_f32.to_le_bytes()].concat());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn to_bytes_with_standardiser<T, const I: usize, N>(
    network: &N,
    standardiser: &Standardiser<T, I>,
) -> Vec<u8>
where
    T: Float,
    N: Network<Float = T, Input = [T; I]>,
{
    bytes_of(
        network,
        &[
            (STANDARDISER_MEAN, standardiser.mean()),
            (STANDARDISER_SCALE, standardiser.scale()),
        ],
        &[],
        &[],
    )
}

/// Loads `network`'s parameters and `standardiser`'s statistics from a
/// file of [`save_with_standardiser`].
///
/// ```
/// use backprop::data::Standardiser;
/// use backprop::runtime::io::{self, WeightsError};
/// use backprop::Network;
///
/// backprop::network! { Net = 2 -> linear(1); loss = mse }
///
/// # let dir = std::env::temp_dir().join(format!("backprop-load-std-doctest-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// // A file of weights alone is refused, and nothing changes.
/// let path = dir.join("weights-only.safetensors");
/// io::save(&Net::seeded(1), &path)?;
/// let (mut net, mut scaler) = (Net::seeded(2), Standardiser::identity());
/// let error = io::load_with_standardiser(&mut net, &mut scaler, &path).unwrap_err();
/// assert!(matches!(error, WeightsError::MissingStandardiser { name: io::STANDARDISER_MEAN }));
/// assert_eq!((net.params(), scaler), (Net::seeded(2).params(), Standardiser::identity()));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`WeightsError::Read`] if the file cannot be read, and otherwise the
/// errors of [`load_bytes_with_standardiser`]. On any error `network` and
/// `standardiser` are left as they were.
pub fn load_with_standardiser<T, const I: usize, N>(
    network: &mut N,
    standardiser: &mut Standardiser<T, I>,
    path: impl AsRef<Path>,
) -> Result<(), WeightsError>
where
    T: Float,
    N: Network<Float = T, Input = [T; I]>,
{
    load_file(path.as_ref(), |bytes| {
        load_bytes_with_standardiser(network, standardiser, bytes)
    })
}

/// Loads `network`'s parameters and `standardiser`'s statistics from the
/// bytes of a file of [`save_with_standardiser`].
///
/// ```
/// use backprop::data::Standardiser;
/// use backprop::runtime::io::{self, WeightsError};
/// use backprop::Network;
///
/// backprop::network! { Net = 2 -> linear(1); loss = mse }
///
/// let saved = Standardiser::from_parts([1.0, 2.0], [3.0, 4.0])?;
/// let bytes = io::to_bytes_with_standardiser(&Net::seeded(1), &saved);
/// let (mut net, mut scaler) = (Net::zeros(), Standardiser::identity());
/// io::load_bytes_with_standardiser(&mut net, &mut scaler, &bytes)?;
/// assert_eq!(scaler, saved);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// The errors of [`load_bytes`] for the network's tensors, then
/// [`WeightsError::MissingStandardiser`] if either statistic's tensor is
/// missing, [`WeightsError::WrongShape`] or [`WeightsError::WrongDtype`] if
/// it is not `[n₀]` values of the network's float type, and
/// [`WeightsError::InvalidStandardiser`] if a mean is not finite or a scale
/// not finite and positive. On any error `network` and `standardiser` are
/// left as they were.
pub fn load_bytes_with_standardiser<T, const I: usize, N>(
    network: &mut N,
    standardiser: &mut Standardiser<T, I>,
    bytes: &[u8],
) -> Result<(), WeightsError>
where
    T: Float,
    N: Network<Float = T, Input = [T; I]>,
{
    let params = read_params::<N>(bytes)?;
    let read = read_standardiser::<T, I>(bytes)?;
    network.params_mut().copy_from_slice(&params);
    *standardiser = read;
    Ok(())
}

/// The standardiser of a file whose network's tensors have been checked.
fn read_standardiser<T: Float, const I: usize>(
    bytes: &[u8],
) -> Result<Standardiser<T, I>, WeightsError> {
    let file = SafeTensors::deserialize(bytes).map_err(|error| WeightsError::Corrupt {
        path: None,
        reason: corruption(&error, bytes.len()),
    })?;
    let precision = Precision::of::<T>();
    let mut statistics = [[T::ZERO; I]; 2];
    for (values, name) in statistics
        .iter_mut()
        .zip([STANDARDISER_MEAN, STANDARDISER_SCALE])
    {
        if file.tensor(name).is_err() {
            return Err(WeightsError::MissingStandardiser { name });
        }
        let tensor = checked::<T>(&file, &[], name.to_owned(), vec![I])?;
        for (value, read) in values.iter_mut().zip(precision.values::<T>(tensor.data())) {
            *value = read;
        }
    }
    let [mean, scale] = statistics;
    Standardiser::from_parts(mean, scale).map_err(|error| WeightsError::InvalidStandardiser {
        name: match error {
            StandardiserError::Mean { .. } => STANDARDISER_MEAN,
            _ => STANDARDISER_SCALE,
        },
        error,
    })
}

/// The bytes of the safetensors file that [`save`] writes for `network`.
///
/// The same parameters always give the same bytes: the header lists the
/// metadata first, its keys sorted, then the tensors in the order of their
/// data, layer by layer, each weight before its bias (the order of PyTorch's
/// `state_dict()`).
///
/// ```
/// # use backprop::Network;
/// use backprop::runtime::io::safetensors::{Dtype, SafeTensors};
///
/// backprop::network! { Net = 2 -> relu(3) -> linear(1); loss = mse }
///
/// let bytes = backprop::runtime::io::to_bytes(&Net::seeded(1));
/// let file = SafeTensors::deserialize(&bytes)?;
/// let weight = file.tensor("0.weight")?;
/// assert_eq!((weight.dtype(), weight.shape()), (Dtype::F32, &[3, 2][..]));
/// let (_, metadata) = SafeTensors::read_metadata(&bytes)?;
/// let architecture = &metadata.metadata().as_ref().unwrap()["architecture"];
/// assert_eq!(architecture, "2 -> relu(3) -> linear(1); loss = mse; float = f32");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn to_bytes<N: Network>(network: &N) -> Vec<u8> {
    bytes_of(network, &[], &[], &[])
}

/// The file of `network`'s tensors followed by `extra` ones, each a vector,
/// and by `state`: vectors of one value per parameter, each written as the
/// network's tensors are, under its name as a prefix
/// (`optimizer.exp_avg.0.weight`), with `metadata` after the usual keys.
fn bytes_of<N: Network>(
    network: &N,
    extra: &[(&str, &[N::Float])],
    state: &[(String, &[N::Float])],
    metadata: &[(&str, String)],
) -> Vec<u8> {
    bytes_in(&Layout::of::<N>(), network.params(), extra, state, metadata)
}

/// [`bytes_of`] for any layout of parameters `params`.
fn bytes_in<T: Float>(
    layout: &Layout,
    params: &[T],
    extra: &[(&str, &[T])],
    state: &[(String, &[T])],
    metadata: &[(&str, String)],
) -> Vec<u8> {
    let precision = Precision::of::<T>();
    let extra_values: usize = extra.iter().map(|(_, values)| values.len()).sum();
    let mut data =
        Vec::with_capacity(((1 + state.len()) * layout.params + extra_values) * precision.bytes());
    let mut tensors = Vec::with_capacity((1 + state.len()) * layout.tensors.len() + extra.len());
    let mut push_layers = |prefix: &str, params: &[T]| {
        for tensor in &layout.tensors {
            let start = data.len();
            for k in 0..tensor.len() {
                precision.push(&mut data, params[tensor.index(k)]);
            }
            let name = format!("{prefix}{}", tensor.name);
            tensors.push((name, tensor.shape.clone(), start..data.len()));
        }
    };
    push_layers("", params);
    for (prefix, values) in state {
        push_layers(prefix, values);
    }
    for &(name, values) in extra {
        let start = data.len();
        for &value in values {
            precision.push(&mut data, value);
        }
        tensors.push((name.to_owned(), vec![values.len()], start..data.len()));
    }
    let mut all_metadata = vec![
        ("architecture", layout.architecture.clone()),
        ("backprop_version", env!("CARGO_PKG_VERSION").to_owned()),
        ("float", T::NAME.to_owned()),
        ("format", "pt".to_owned()),
    ];
    all_metadata.extend(metadata.iter().cloned());
    all_metadata.sort_unstable_by_key(|&(key, _)| key);
    let header = header(&all_metadata, precision, &tensors);

    let mut bytes = Vec::with_capacity(8 + header.len() + data.len());
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&data);
    bytes
}

/// The JSON header of a safetensors file, padded with spaces to a multiple
/// of 8 bytes so that the data after it is aligned, as `safetensors` pads it.
///
/// `safetensors::serialize` would write it too, but it takes the metadata as
/// a `HashMap` and writes its keys in the map's random order, so two saves of
/// one network would differ. Written here, in a fixed order, the file is
/// reproducible; the crate still reads and checks every file loaded.
fn header(
    metadata: &[(&str, String)],
    precision: Precision,
    tensors: &[(String, Vec<usize>, Range<usize>)],
) -> String {
    let mut header = String::new();
    // Writing to a `String` cannot fail.
    let _ = write_header(&mut header, metadata, precision, tensors);
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    header
}

fn write_header(
    out: &mut String,
    metadata: &[(&str, String)],
    precision: Precision,
    tensors: &[(String, Vec<usize>, Range<usize>)],
) -> fmt::Result {
    out.push_str("{\"__metadata__\":{");
    for (i, (key, value)) in metadata.iter().enumerate() {
        let separator = if i == 0 { "" } else { "," };
        write!(out, "{separator}{}:{}", Json(key), Json(value))?;
    }
    out.push('}');
    for (name, shape, range) in tensors {
        write!(
            out,
            ",{}:{{\"dtype\":\"{}\",\"shape\":{shape:?},\"data_offsets\":[{},{}]}}",
            Json(name),
            precision.name(),
            range.start,
            range.end,
        )?;
    }
    out.push('}');
    Ok(())
}

/// A JSON string literal.
struct Json<'a>(&'a str);

impl fmt::Display for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

/// The network as the `network!` DSL spells it:
/// `4 -> tanh(5) -> linear(3); loss = mse; float = f32`.
fn architecture<N: Network>() -> String {
    Architecture::of::<N>().to_string()
}

/// A file parsed once: its tensors, their names sorted, and its metadata.
struct Parsed<'data> {
    file: SafeTensors<'data>,
    found: Vec<String>,
    metadata: BTreeMap<String, String>,
}

impl<'data> Parsed<'data> {
    fn new(bytes: &'data [u8]) -> Result<Self, WeightsError> {
        let file = SafeTensors::deserialize(bytes).map_err(|error| WeightsError::Corrupt {
            path: None,
            reason: corruption(&error, bytes.len()),
        })?;
        let mut found: Vec<String> = file.names().into_iter().map(ToOwned::to_owned).collect();
        found.sort_unstable();
        // `deserialize` has checked the header, but does not keep its
        // metadata.
        let metadata = SafeTensors::read_metadata(bytes)
            .ok()
            .and_then(|(_, metadata)| metadata.metadata().clone())
            .map(|metadata| metadata.into_iter().collect())
            .unwrap_or_default();
        Ok(Self {
            file,
            found,
            metadata,
        })
    }
}

/// Parses and checks `bytes` completely, returning the parameters in the
/// network's layout; nothing is written to a network here.
fn read_params<N: Network>(bytes: &[u8]) -> Result<Vec<N::Float>, WeightsError> {
    params_of::<N>(&Parsed::new(bytes)?)
}

/// The parameters of a parsed file, checked.
fn params_of<N: Network>(parsed: &Parsed<'_>) -> Result<Vec<N::Float>, WeightsError> {
    params_in(parsed, &Layout::of::<N>())
}

/// [`params_of`] for any layout.
fn params_in<T: Float>(parsed: &Parsed<'_>, layout: &Layout) -> Result<Vec<T>, WeightsError> {
    let params = read_tensors::<T>(&parsed.file, &parsed.found, "", layout)?;
    let expected: Vec<String> = layout.names().map(ToOwned::to_owned).collect();
    // A standardiser's statistics (`save_with_standardiser`) and an
    // optimizer's state (`save_training`) are not the network's;
    // `load_with_standardiser` and `load_training` read them.
    if let Some(name) = parsed.found.iter().find(|name| {
        !expected.contains(name)
            && *name != STANDARDISER_MEAN
            && *name != STANDARDISER_SCALE
            && !name.starts_with(training::OPTIMIZER_PREFIX)
    }) {
        return Err(WeightsError::UnexpectedTensor {
            name: name.clone(),
            expected,
        });
    }
    // Checked last, so that a file of other widths is told which tensor
    // does not fit.
    if let Some(recorded) = parsed.metadata.get("architecture") {
        let expected = layout.architecture.clone();
        if *recorded != expected {
            return Err(WeightsError::OtherArchitecture {
                found: recorded.clone(),
                expected,
            });
        }
    }
    Ok(params)
}

/// The values of the tensors `{prefix}0.weight`, `{prefix}0.bias`, … of
/// `file`, checked, in the network's layout of its parameters.
fn read_layers<N: Network>(
    file: &SafeTensors<'_>,
    found: &[String],
    prefix: &str,
) -> Result<Vec<N::Float>, WeightsError> {
    read_tensors(file, found, prefix, &Layout::of::<N>())
}

/// [`read_layers`] for any layout.
fn read_tensors<T: Float>(
    file: &SafeTensors<'_>,
    found: &[String],
    prefix: &str,
    layout: &Layout,
) -> Result<Vec<T>, WeightsError> {
    let precision = Precision::of::<T>();
    let mut params = vec![T::ZERO; layout.params];
    for tensor in &layout.tensors {
        let name = format!("{prefix}{}", tensor.name);
        let data = checked::<T>(file, found, name, tensor.shape.clone())?;
        for (k, value) in precision.values::<T>(data.data()).enumerate() {
            params[tensor.index(k)] = value;
        }
    }
    Ok(params)
}

/// The tensor `name` of `file`, once its shape and dtype are the network's.
fn checked<'data, T: Float>(
    file: &SafeTensors<'data>,
    found: &[String],
    name: String,
    shape: Vec<usize>,
) -> Result<safetensors::tensor::TensorView<'data>, WeightsError> {
    let Ok(tensor) = file.tensor(&name) else {
        return Err(WeightsError::MissingTensor {
            name,
            found: found.to_vec(),
        });
    };
    if tensor.shape() != shape.as_slice() {
        return Err(WeightsError::WrongShape {
            name,
            found: tensor.shape().to_vec(),
            expected: shape,
        });
    }
    let precision = Precision::of::<T>();
    if tensor.dtype() != precision.dtype() {
        return Err(WeightsError::WrongDtype {
            name,
            found: tensor.dtype().to_string(),
            expected: precision.name(),
        });
    }
    Ok(tensor)
}

/// What is wrong with a file safetensors refused, in words.
fn corruption(error: &SafeTensorError, len: usize) -> String {
    match error {
        SafeTensorError::HeaderTooSmall if len == 0 => "it is empty".to_owned(),
        SafeTensorError::HeaderTooSmall => {
            format!("it is {len} bytes long, too short for even the 8-byte length of its header")
        }
        SafeTensorError::InvalidHeaderLength => format!(
            "the length its first 8 bytes give its header runs past the end of its {len} bytes; \
             it is truncated or not a safetensors file"
        ),
        SafeTensorError::HeaderTooLarge => "its first 8 bytes give its header a length \
            above safetensors' limit of 100 MB; it is not a safetensors file"
            .to_owned(),
        SafeTensorError::MetadataIncompleteBuffer => format!(
            "its {len} bytes are not the size its header gives the tensors' data; \
             it is truncated or has bytes appended"
        ),
        SafeTensorError::InvalidHeader(_) => {
            "its header is not UTF-8 text; it is not a safetensors file".to_owned()
        }
        SafeTensorError::InvalidHeaderDeserialization(error) => {
            format!("its header is not the JSON safetensors expects ({error})")
        }
        SafeTensorError::InvalidOffset(name) => format!(
            "the data offsets of tensor `{name}` do not start where the previous tensor's end; \
             tensors overlap or leave gaps"
        ),
        SafeTensorError::TensorInvalidInfo => "a tensor's data offsets do not span \
            the bytes its shape and dtype need"
            .to_owned(),
        SafeTensorError::ValidationOverflow => {
            "a tensor's shape is too large: its size in bytes overflows".to_owned()
        }
        error => error.to_string(),
    }
}

/// The element type of a network's parameters in a file.
#[derive(Clone, Copy)]
enum Precision {
    F32,
    F64,
}

impl Precision {
    /// `T`'s: `Float` is implemented for `f32` and `f64` only.
    fn of<T: Float>() -> Self {
        if size_of::<T>() == size_of::<f64>() {
            Self::F64
        } else {
            Self::F32
        }
    }

    fn dtype(self) -> Dtype {
        match self {
            Self::F32 => Dtype::F32,
            Self::F64 => Dtype::F64,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F64 => "F64",
        }
    }

    fn bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F64 => 8,
        }
    }

    /// Appends `value` as little-endian bytes.
    fn push<T: Float>(self, out: &mut Vec<u8>, value: T) {
        match self {
            // `value` is an `f32`, so the round trip through `f64` is exact.
            #[allow(clippy::cast_possible_truncation)]
            Self::F32 => out.extend_from_slice(&(value.to_f64() as f32).to_le_bytes()),
            Self::F64 => out.extend_from_slice(&value.to_f64().to_le_bytes()),
        }
    }

    /// The values of a tensor's little-endian bytes, whose length has been
    /// checked against its shape and dtype.
    fn values<T: Float>(self, data: &[u8]) -> impl Iterator<Item = T> + '_ {
        let (f32s, f64s): (&[[u8; 4]], &[[u8; 8]]) = match self {
            Self::F32 => (data.as_chunks().0, &[]),
            Self::F64 => (&[], data.as_chunks().0),
        };
        let f32s = f32s.iter().map(|&b| f64::from(f32::from_le_bytes(b)));
        let f64s = f64s.iter().map(|&b| f64::from_le_bytes(b));
        f32s.chain(f64s).map(T::from_f64)
    }
}

/// One tensor of a file: its name and PyTorch shape, and where its values
/// are in the flat parameters. A weight matrix is stored here as the
/// transpose of PyTorch's (`in × out` rows where PyTorch has `[out, in]`).
struct Tensor {
    name: String,
    /// The shape in the file: `[out, in]` for a weight, `[n]` for a bias.
    shape: Vec<usize>,
    /// Where its values start in the flat parameters.
    offset: usize,
}

impl Tensor {
    fn len(&self) -> usize {
        self.shape.iter().product()
    }

    fn range(&self) -> Range<usize> {
        self.offset..self.offset + self.len()
    }

    /// The index in the flat parameters of the file's `k`-th value: a
    /// matrix `[rows, cols]` is held as its transpose.
    fn index(&self, k: usize) -> usize {
        match *self.shape {
            [rows, cols] => self.offset + (k % cols) * rows + k / cols,
            _ => self.offset + k,
        }
    }
}

/// The tensors of a network's parameters, in their order, and the
/// architecture recorded beside them.
struct Layout {
    tensors: Vec<Tensor>,
    params: usize,
    architecture: String,
}

impl Layout {
    /// A `Network`'s: `nn.Linear` `l` is module `2(l − 1)`.
    fn of<N: Network>() -> Self {
        let mut tensors = Vec::with_capacity(2 * N::LAYERS);
        dense_tensors(N::WIDTHS, 0, 0, &mut tensors);
        Self {
            tensors,
            params: N::PARAMS,
            architecture: architecture::<N>(),
        }
    }

    /// A `Recurrent` network's: its recurrent layers as `nn.LSTM` and
    /// `nn.GRU` modules, consecutive layers of one cell and width stacked in
    /// one module (`_l0`, `_l1`, … as `num_layers` stacks them), then its
    /// dense layers as [`of`](Layout::of) numbers them, after those modules.
    fn of_recurrent<N: Recurrent>() -> Self {
        let mut tensors = Vec::new();
        let (mut module, mut offset) = (0, 0);
        let mut stacked = 0;
        for (r, cell) in N::CELLS.iter().enumerate() {
            let (inputs, hidden) = (N::WIDTHS[r], N::WIDTHS[r + 1]);
            if r > 0 {
                let same = N::CELLS[r - 1] == *cell && inputs == hidden;
                if same {
                    stacked += 1;
                } else {
                    module += 1;
                    stacked = 0;
                }
            }
            let rows = cell.gates() * hidden;
            for (tensor, shape) in [
                ("weight_ih", vec![rows, inputs]),
                ("weight_hh", vec![rows, hidden]),
                ("bias_ih", vec![rows]),
                ("bias_hh", vec![rows]),
            ] {
                let tensor = Tensor {
                    name: format!("{module}.{tensor}_l{stacked}"),
                    shape,
                    offset,
                };
                offset = tensor.range().end;
                tensors.push(tensor);
            }
        }
        let first = if N::CELLS.is_empty() { 0 } else { module + 1 };
        dense_tensors(&N::WIDTHS[N::CELLS.len()..], first, offset, &mut tensors);
        Self {
            tensors,
            params: N::PARAMS,
            architecture: recurrent_architecture::<N>(),
        }
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.iter().map(|tensor| tensor.name.as_str())
    }
}

/// The `nn.Linear` layers of these widths, from module `first` (every
/// other module an activation) and from `offset` in the flat parameters.
fn dense_tensors(widths: &[usize], first: usize, mut offset: usize, out: &mut Vec<Tensor>) {
    for (l, fans) in widths.windows(2).enumerate() {
        let (inputs, outputs) = (fans[0], fans[1]);
        let module = first + 2 * l;
        for (name, shape) in [
            (format!("{module}.weight"), vec![outputs, inputs]),
            (format!("{module}.bias"), vec![outputs]),
        ] {
            let tensor = Tensor {
                name,
                shape,
                offset,
            };
            offset = tensor.range().end;
            out.push(tensor);
        }
    }
}

/// A recurrent network as the `network!` DSL spells it:
/// `1 -> lstm(16) -> linear(1); loss = mse; float = f32`.
fn recurrent_architecture<N: Recurrent>() -> String {
    let mut text = N::INPUTS.to_string();
    let widths = &N::WIDTHS[1..];
    for (cell, width) in N::CELLS.iter().zip(widths) {
        let _ = write!(text, " -> {cell}({width})");
    }
    for (activation, &width) in N::ACTIVATIONS.iter().zip(&widths[N::CELLS.len()..]) {
        let _ = write!(text, " -> {}", activation.layer(width));
    }
    match N::LOSS {
        Some(loss) => {
            let _ = write!(text, "; loss = {loss}");
        }
        None => text.push_str("; loss = none"),
    }
    let _ = write!(text, "; float = {}", N::Float::NAME);
    text
}

/// Writes `bytes` to `path` atomically, the error naming the file.
fn save_file(path: &Path, bytes: &[u8]) -> Result<(), WeightsError> {
    write_atomically(path, bytes).map_err(|source| WeightsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads `path` and loads its bytes with `load`; an error reading it, or
/// its bytes' corruption, names the file.
fn load_file(
    path: &Path,
    load: impl FnOnce(&[u8]) -> Result<(), WeightsError>,
) -> Result<(), WeightsError> {
    let bytes = fs::read(path).map_err(|source| WeightsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load(&bytes).map_err(|error| match error {
        WeightsError::Corrupt { path: None, reason } => WeightsError::Corrupt {
            path: Some(path.to_path_buf()),
            reason,
        },
        error => error,
    })
}

/// Distinguishes the temporary files of saves running at the same time.
static SAVES: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to a new temporary file beside `path`, syncs it and
/// renames it over `path`; the temporary file is removed on failure.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ));
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    // A short prefix of the name, so the temporary name stays within the
    // file system's limit however long the target's is.
    let name = name.to_string_lossy();
    let prefix: String = name
        .char_indices()
        .take_while(|&(i, c)| i + c.len_utf8() <= 48)
        .map(|(_, c)| c)
        .collect();
    let (temporary, file) = loop {
        let attempt = SAVES.fetch_add(1, Ordering::Relaxed);
        let candidate = directory.join(format!(".{prefix}.{}.{attempt}.tmp", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(file) => break (candidate, file),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    };
    let result = fill_and_rename(file, &temporary, path, bytes);
    if result.is_err() {
        // Best effort: the error worth reporting is the one that got us here.
        let _ = fs::remove_file(&temporary);
        return result;
    }
    // Make the rename itself durable. Not every platform or file system can
    // sync a directory; the new file is in place either way.
    #[cfg(unix)]
    if let Ok(directory) = File::open(directory) {
        let _ = directory.sync_all();
    }
    Ok(())
}

fn fill_and_rename(mut file: File, temporary: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    if let Ok(metadata) = fs::metadata(path)
        && metadata.is_file()
    {
        // Keep the permissions of the file being replaced. Best effort too:
        // the weights matter more than the mode bits.
        let _ = file.set_permissions(metadata.permissions());
    }
    file.sync_all()?;
    drop(file);
    fs::rename(temporary, path)
}
