//! An optimizer's state between steps, read out and put back, so that
//! training saved to a file ([`io::save_training`](crate::io::save_training))
//! resumes exactly where it stopped.
//!
//! The state is what `torch.optim` keeps in its `state_dict()["state"]`, by
//! the same names: Adam's and `AdamW`'s `exp_avg`, `exp_avg_sq` (and
//! `max_exp_avg_sq` with `amsgrad`) and step count, SGD's
//! `momentum_buffer`. The hyperparameters (learning rate, betas, …) are not
//! state: they come from the code that builds the optimizer, and a learning
//! rate schedule sets the rate of the epoch it resumes at.

use core::fmt;

use super::{Adam, AdamW, Moments, Sgd, StateStorage};
use crate::Float;

/// An optimizer whose state between steps can be read and restored.
///
/// ```
/// use backprop_runtime::{Adam, Optimizer, Resume};
///
/// let mut adam = Adam::new(0.1);
/// let mut params = [1.0_f64, -2.0];
/// for _ in 0..3 {
///     adam.step(&mut params, &[0.5, -0.25]);
/// }
///
/// // Another Adam, with the first one's state, takes the same next step.
/// let mut buffers = Vec::new();
/// adam.buffers(&mut |name, values| buffers.push((name, values.to_vec())));
/// assert_eq!(buffers.iter().map(|(name, _)| *name).collect::<Vec<_>>(), ["exp_avg", "exp_avg_sq"]);
/// let mut resumed = Adam::new(0.1);
/// let views: Vec<&[f64]> = buffers.iter().map(|(_, values)| &values[..]).collect();
/// resumed.restore(adam.steps(), &views)?;
///
/// let mut copy = params;
/// adam.step(&mut params, &[0.5, 1.0]);
/// resumed.step(&mut copy, &[0.5, 1.0]);
/// assert_eq!(params, copy);
///
/// // A state that is not Adam's is refused, and the optimizer is unchanged.
/// let error = resumed.restore(4, &views[..1]).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "Adam with these options keeps 2 state buffers (`exp_avg`, `exp_avg_sq`); the state given has 1"
/// );
/// assert_eq!(resumed.steps(), 4);
/// # Ok::<(), backprop_runtime::StateError>(())
/// ```
pub trait Resume<T> {
    /// PyTorch's name of the optimizer: `"SGD"`, `"Adam"` or `"AdamW"`.
    fn kind(&self) -> &'static str;

    /// The steps taken, PyTorch's `state["step"]`; `0` for SGD, which
    /// counts none.
    fn steps(&self) -> u64;

    /// The names of the buffers this optimizer keeps once it has state,
    /// in the order [`buffers`](Resume::buffers) gives them.
    fn buffer_names(&self) -> &'static [&'static str];

    /// Calls `each` with every state buffer, one value per parameter, in
    /// the order of [`buffer_names`](Resume::buffer_names); with none
    /// before the optimizer has state (before its first step).
    fn buffers(&self, each: &mut dyn FnMut(&'static str, &[T]));

    /// Puts back a state read with [`steps`](Resume::steps) and
    /// [`buffers`](Resume::buffers): `buffers` in the order of
    /// [`buffer_names`](Resume::buffer_names), or empty for no state yet.
    ///
    /// # Errors
    ///
    /// [`StateError`] if the buffers are not the ones this optimizer keeps,
    /// differ in length, or do not fit its storage; the optimizer is then
    /// left as it was.
    fn restore(&mut self, steps: u64, buffers: &[&[T]]) -> Result<(), StateError>;
}

/// Why a state could not be restored.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateError {
    /// Not as many buffers as the optimizer keeps.
    Buffers {
        /// The optimizer's kind.
        kind: &'static str,
        /// The buffers it keeps.
        expected: &'static [&'static str],
        /// The number given.
        found: usize,
    },
    /// A step count with no buffers, or buffers with no step.
    Steps {
        /// The step count given.
        steps: u64,
        /// The number of buffers given.
        buffers: usize,
    },
    /// A buffer whose length differs from the first's, or from what the
    /// optimizer's storage holds.
    Length {
        /// The buffer.
        name: &'static str,
        /// The length needed.
        expected: usize,
        /// Its length.
        found: usize,
    },
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Buffers {
                kind,
                expected,
                found,
            } => write!(
                f,
                "{kind} with these options keeps {} state buffers ({}); the state given has {found}",
                expected.len(),
                Names(expected)
            ),
            Self::Steps { steps, buffers } => write!(
                f,
                "a state of {steps} steps with {buffers} buffers: Adam has moments exactly when it has taken a step"
            ),
            Self::Length {
                name,
                expected,
                found,
            } => write!(
                f,
                "the state buffer `{name}` holds {found} values; the optimizer needs {expected}"
            ),
        }
    }
}

impl core::error::Error for StateError {}

/// `a, b, c`, or `none`.
struct Names(&'static [&'static str]);

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, name) in self.0.iter().enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            write!(f, "{separator}`{name}`")?;
        }
        Ok(())
    }
}

/// Checks that `buffers` are the buffers `names`, all of one length that
/// the storages holding `holds` values each can take (a storage of no values
/// yet takes any).
fn check<T>(
    kind: &'static str,
    names: &'static [&'static str],
    holds: &[usize],
    buffers: &[&[T]],
) -> Result<(), StateError> {
    let Some(first) = buffers.first() else {
        return Ok(());
    };
    if buffers.len() != names.len() {
        return Err(StateError::Buffers {
            kind,
            expected: names,
            found: buffers.len(),
        });
    }
    for ((&name, buffer), &holds) in names.iter().zip(buffers).zip(holds) {
        let expected = if holds == 0 { first.len() } else { holds };
        if buffer.len() != expected {
            return Err(StateError::Length {
                name,
                expected,
                found: buffer.len(),
            });
        }
    }
    Ok(())
}

const ADAM: &[&str] = &["exp_avg", "exp_avg_sq"];
const AMSGRAD: &[&str] = &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];
const MOMENTUM: &[&str] = &["momentum_buffer"];

impl<S> Moments<S> {
    fn buffer_names(&self) -> &'static [&'static str] {
        if self.max_second.is_some() {
            AMSGRAD
        } else {
            ADAM
        }
    }

    fn buffers<T>(&self, each: &mut dyn FnMut(&'static str, &[T]))
    where
        S: AsRef<[T]>,
    {
        if self.steps == 0 {
            return;
        }
        each("exp_avg", self.first.as_ref());
        each("exp_avg_sq", self.second.as_ref());
        if let Some(max_second) = &self.max_second {
            each("max_exp_avg_sq", max_second.as_ref());
        }
    }

    fn restore<T: Float>(
        &mut self,
        kind: &'static str,
        steps: u64,
        buffers: &[&[T]],
    ) -> Result<(), StateError>
    where
        S: StateStorage<T> + AsRef<[T]>,
    {
        if (steps == 0) != buffers.is_empty() {
            return Err(StateError::Steps {
                steps,
                buffers: buffers.len(),
            });
        }
        let mut holds = [self.first.as_ref().len(), self.second.as_ref().len(), 0];
        if let Some(max_second) = &self.max_second {
            holds[2] = max_second.as_ref().len();
        }
        check(kind, self.buffer_names(), &holds, buffers)?;
        self.steps = steps;
        // With no steps, the next step zeroes every buffer, as a new one's does.
        self.max_second_fresh = steps == 0 && self.max_second.is_some();
        if let [first, second, rest @ ..] = buffers {
            self.first.values(first.len()).copy_from_slice(first);
            self.second.values(second.len()).copy_from_slice(second);
            if let (Some(storage), [max_second]) = (&mut self.max_second, rest) {
                storage.values(max_second.len()).copy_from_slice(max_second);
            }
        }
        Ok(())
    }
}

impl<T: Float, S: StateStorage<T> + AsRef<[T]>> Resume<T> for Adam<S> {
    fn kind(&self) -> &'static str {
        "Adam"
    }

    fn steps(&self) -> u64 {
        self.moments.steps
    }

    fn buffer_names(&self) -> &'static [&'static str] {
        self.moments.buffer_names()
    }

    fn buffers(&self, each: &mut dyn FnMut(&'static str, &[T])) {
        self.moments.buffers(each);
    }

    fn restore(&mut self, steps: u64, buffers: &[&[T]]) -> Result<(), StateError> {
        self.moments.restore("Adam", steps, buffers)
    }
}

impl<T: Float, S: StateStorage<T> + AsRef<[T]>> Resume<T> for AdamW<S> {
    fn kind(&self) -> &'static str {
        "AdamW"
    }

    fn steps(&self) -> u64 {
        self.moments.steps
    }

    fn buffer_names(&self) -> &'static [&'static str] {
        self.moments.buffer_names()
    }

    fn buffers(&self, each: &mut dyn FnMut(&'static str, &[T])) {
        self.moments.buffers(each);
    }

    fn restore(&mut self, steps: u64, buffers: &[&[T]]) -> Result<(), StateError> {
        self.moments.restore("AdamW", steps, buffers)
    }
}

impl<T: Float, S: StateStorage<T> + AsRef<[T]>> Resume<T> for Sgd<S> {
    fn kind(&self) -> &'static str {
        "SGD"
    }

    fn steps(&self) -> u64 {
        0
    }

    /// `momentum_buffer` with momentum; plain SGD keeps nothing.
    fn buffer_names(&self) -> &'static [&'static str] {
        if self.momentum > 0.0 { MOMENTUM } else { &[] }
    }

    fn buffers(&self, each: &mut dyn FnMut(&'static str, &[T])) {
        if self.velocity_started {
            each("momentum_buffer", self.velocity.as_ref());
        }
    }

    fn restore(&mut self, steps: u64, buffers: &[&[T]]) -> Result<(), StateError> {
        if steps != 0 {
            return Err(StateError::Steps {
                steps,
                buffers: buffers.len(),
            });
        }
        let holds = [self.velocity.as_ref().len()];
        check("SGD", self.buffer_names(), &holds, buffers)?;
        match buffers {
            [velocity] => {
                self.velocity
                    .values(velocity.len())
                    .copy_from_slice(velocity);
                self.velocity_started = true;
            }
            _ => self.velocity_started = false,
        }
        Ok(())
    }
}
