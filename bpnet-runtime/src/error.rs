//! Errors for data that reaches a network at run time.

use core::fmt;

/// What was wrong with run-time data given to a network.
///
/// `Debug` prints the message, as `Display`, so `main` returning the error shows it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An input's length differs from the width the network declares for it.
    Width {
        /// The network's name for the input.
        input: &'static str,
        /// The width the network declares.
        expected: usize,
        /// The length that was given.
        found: usize,
    },
    /// A sequence is longer than the steps the network is unfolded over.
    TooLong {
        /// The network's name for the input.
        input: &'static str,
        /// The number of steps `T` of the network.
        steps: usize,
        /// The length that was given.
        found: usize,
    },
    /// Two sequences given to the same call differ in length, or a sequence is empty.
    Length {
        /// The network's name for the input.
        input: &'static str,
        /// The length of the first sequence of the call.
        expected: usize,
        /// The length of this one.
        found: usize,
    },
    /// The arguments of one minibatch call have different numbers of rows (samples, or
    /// sequences): every input and target has one row per sample.
    Rows {
        /// The network's name for the argument.
        input: &'static str,
        /// The rows of the call's first argument.
        expected: usize,
        /// The rows of this one.
        found: usize,
    },
    /// A minibatch has more samples than the network reserved room for.
    BatchTooLarge {
        /// The network's name for the input.
        input: &'static str,
        /// The capacity given to `reserve_batch` (0 if it was not called).
        capacity: usize,
        /// The number of samples that was given.
        found: usize,
    },
    /// A continued minibatch of sequences (`fprop_batch_continued`, `run_batch_continued`) has
    /// more sequences than the call it continues: row `i` continues row `i`, so a continued call
    /// can leave sequences out at the end, not add any.
    Continuation {
        /// The network's name for the input.
        input: &'static str,
        /// The number of sequences of the call it continues.
        expected: usize,
        /// The number of sequences that was given.
        found: usize,
    },
    /// An input holds a NaN or an infinity.
    NonFinite {
        /// The network's name for the input.
        input: &'static str,
        /// The position of the first non-finite component.
        index: usize,
    },
    /// A minibatch has no samples (no sequences): its energy would be an empty sum, and a mean
    /// over its samples a division by zero. Skip the call instead.
    EmptyBatch {
        /// The network's name for the input (the first of the call).
        input: &'static str,
    },
    /// Memory could not be allocated: the size asked for overflows `usize`, or the system
    /// refused it (as for `reserve_batch` with a capacity far larger than any batch).
    Alloc {
        /// What was being allocated.
        what: &'static str,
        /// The bytes asked for, `None` if their number overflows `usize`.
        bytes: Option<usize>,
    },
    /// A helper thread for the matrix products could not be started (see
    /// `GemmScratch::try_set_threads`). The threads in use before the call are kept.
    Thread {
        /// The number of threads asked for.
        threads: usize,
        /// The system's reason.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Width {
                input,
                expected,
                found,
            } => write!(
                f,
                "input `{input}` has {found} components, but the network declares width {expected}"
            ),
            Error::TooLong {
                input,
                steps,
                found,
            } => write!(
                f,
                "sequence `{input}` has {found} steps, but the network is unfolded over {steps}: \
                 give a longer one in chunks of at most {steps} to the `_continued` calls"
            ),
            Error::Length {
                input,
                expected,
                found,
            } => write!(
                f,
                "sequence `{input}` has {found} steps, but this call's sequences have {expected}"
            ),
            Error::Rows {
                input,
                expected,
                found,
            } => write!(
                f,
                "batch `{input}` has {found} rows, but the call's first batch has {expected}: \
                 every input and target of a minibatch has one row per sample"
            ),
            Error::BatchTooLarge {
                input,
                capacity,
                found,
            } => {
                write!(f, "batch `{input}` has {found} samples, but ")?;
                if *capacity == 0 {
                    write!(f, "`reserve_batch` was not called")?;
                } else {
                    write!(f, "the network has room for {capacity}")?;
                }
                write!(
                    f,
                    ": call `reserve_batch` with at least {found} before the minibatch calls"
                )
            }
            Error::Continuation {
                input,
                expected,
                found,
            } => write!(
                f,
                "batch `{input}` has {found} sequences, but the call it continues had {expected} \
                 (a continued call continues row i in row i)"
            ),
            Error::NonFinite { input, index } => {
                write!(
                    f,
                    "input `{input}` is not finite at component {index} (a NaN or an infinity: \
                     check the data and its scaling)"
                )
            }
            Error::EmptyBatch { input } => write!(
                f,
                "batch `{input}` has no samples (skip empty minibatches: an empty one has no \
                 energy and no mean)"
            ),
            Error::Alloc {
                what,
                bytes: Some(bytes),
            } => write!(
                f,
                "cannot allocate {what}: {bytes} bytes (ask for less, e.g. a smaller batch \
                 capacity)"
            ),
            Error::Alloc { what, bytes: None } => write!(
                f,
                "cannot allocate {what}: the size overflows usize (ask for less, e.g. a smaller \
                 batch capacity)"
            ),
            Error::Thread { threads, reason } => write!(
                f,
                "cannot start the threads for {threads}-thread matrix products: {reason} (ask \
                 for fewer threads; the ones in use are kept)"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Implements `Debug` as the type's `Display`, for error types: `fn main() -> Result<(), Box<dyn
/// Error>>` and `unwrap` print an error's `Debug`, and should show what happened and what to do,
/// not the variant's fields. Used by every error type of bpnet.
#[doc(hidden)]
#[macro_export]
macro_rules! debug_as_display {
    ($($ty:ty),+ $(,)?) => {$(
        impl ::core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::fmt::Display::fmt(self, f)
            }
        }
    )+};
}

debug_as_display!(Error);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_the_message() {
        let e = Error::BatchTooLarge {
            input: "x",
            capacity: 0,
            found: 32,
        };
        assert!(format!("{e:?}").starts_with(&e.to_string()));
        assert!(format!("{e:#?}").starts_with(&e.to_string()));
    }

    #[test]
    fn a_batch_too_large_says_to_reserve_room() {
        let none = Error::BatchTooLarge {
            input: "x",
            capacity: 0,
            found: 32,
        };
        assert_eq!(
            none.to_string(),
            "batch `x` has 32 samples, but `reserve_batch` was not called: call `reserve_batch` \
             with at least 32 before the minibatch calls"
        );
        let some = Error::BatchTooLarge {
            input: "x",
            capacity: 16,
            found: 32,
        };
        assert_eq!(
            some.to_string(),
            "batch `x` has 32 samples, but the network has room for 16: call `reserve_batch` \
             with at least 32 before the minibatch calls"
        );
    }
}
