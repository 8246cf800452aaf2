//! A replay buffer: the last `capacity` transitions an agent lived
//! through, from which it learns on uniformly drawn mini-batches, so that
//! consecutive, strongly correlated steps do not make up a batch.

use backprop::runtime::rand_core::Rng;

use super::below;

/// One step of experience.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Transition<S, A> {
    pub(crate) state: S,
    pub(crate) action: A,
    pub(crate) reward: f32,
    pub(crate) next_state: S,
    /// `next_state` ends the episode with no future (a terminal state, not
    /// a cut-off at the step limit): its value is zero.
    pub(crate) terminal: bool,
}

/// A fixed-capacity ring of transitions: once full, each new transition
/// replaces the oldest.
#[derive(Clone, Debug)]
pub(crate) struct Replay<S, A> {
    transitions: Vec<Transition<S, A>>,
    capacity: usize,
    /// Where the next transition goes once the buffer is full.
    oldest: usize,
}

impl<S, A> Replay<S, A> {
    /// An empty buffer for `capacity` transitions, allocated at once.
    ///
    /// # Panics
    ///
    /// If `capacity` is zero.
    pub(crate) fn new(capacity: usize) -> Self {
        assert!(
            capacity > 0,
            "a replay buffer needs room for at least one transition"
        );
        Self {
            transitions: Vec::with_capacity(capacity),
            capacity,
            oldest: 0,
        }
    }

    /// Stores a transition, replacing the oldest one if the buffer is full.
    pub(crate) fn push(&mut self, transition: Transition<S, A>) {
        if self.transitions.len() < self.capacity {
            self.transitions.push(transition);
        } else {
            self.transitions[self.oldest] = transition;
            self.oldest = (self.oldest + 1) % self.capacity;
        }
    }

    /// The number of transitions stored.
    pub(crate) fn len(&self) -> usize {
        self.transitions.len()
    }

    /// No transition stored yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.transitions.is_empty()
    }

    /// `B` indices drawn uniformly, with replacement, from those stored.
    ///
    /// # Panics
    ///
    /// If the buffer is empty.
    pub(crate) fn sample<const B: usize, R: Rng + ?Sized>(&self, rng: &mut R) -> [usize; B] {
        assert!(
            !self.is_empty(),
            "cannot sample from an empty replay buffer"
        );
        std::array::from_fn(|_| below(rng, self.len()))
    }

    /// The transition at an index from [`sample`](Replay::sample).
    pub(crate) fn get(&self, index: usize) -> &Transition<S, A> {
        &self.transitions[index]
    }
}
