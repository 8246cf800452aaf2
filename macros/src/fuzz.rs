//! Randomised inputs for the parser and expander: see the helper's work.
