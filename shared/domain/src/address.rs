//! Address choice.
