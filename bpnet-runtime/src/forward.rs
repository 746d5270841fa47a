//! Which forward pass a network ran last. A backward pass reads the states its own forward pass
//! wrote: `bprop` after `fprop_batch` (or `bprop_batch` after `fprop`) would read states no
//! forward pass of its kind had written and return gradients of zero, silently. Generated
//! networks record the forward pass and check it in every backward pass.

/// The last forward pass of a generated network.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forward {
    /// None since the network was made.
    None,
    /// `fprop` (or `try_fprop`, `fprop_continued`) on one sample.
    Fprop,
    /// `run` (or `try_run`, `run_continued`) on one sample.
    Run,
    /// `fprop_batch` (or `fprop_batch_continued`) on a minibatch.
    FpropBatch,
    /// `run_batch` (or `run_batch_continued`) on a minibatch.
    RunBatch,
    /// `train_sgd` on one sample: its states are those before its update.
    TrainSgd,
    /// `train_sgd_batch` on a minibatch: its states are those before its update.
    TrainSgdBatch,
}

impl Forward {
    /// The methods that make it, as a user calls them.
    fn calls(self) -> &'static str {
        match self {
            Forward::None => "none",
            Forward::Fprop => "`fprop`",
            Forward::Run => "`run`",
            Forward::FpropBatch => "`fprop_batch`",
            Forward::RunBatch => "`run_batch`",
            Forward::TrainSgd => "`train_sgd`",
            Forward::TrainSgdBatch => "`train_sgd_batch`",
        }
    }

    /// What to call after it, to go backward.
    fn advice(self) -> &'static str {
        match self {
            Forward::Fprop => "call `bprop` (or `bbprop`) after `fprop`",
            Forward::FpropBatch => "call `bprop_batch` (or `bbprop_batch`) after `fprop_batch`",
            Forward::Run | Forward::RunBatch => {
                "`run` computes the output alone, not the energy: call `fprop` (or \
                 `fprop_batch`) before a backward pass"
            }
            Forward::None => "run the matching forward pass first",
            Forward::TrainSgd => {
                "`train_sgd` has moved the parameters since its forward pass: call `fprop` \
                 before a backward pass"
            }
            Forward::TrainSgdBatch => {
                "`train_sgd_batch` has moved the parameters since its forward pass: call \
                 `fprop_batch` before a backward pass"
            }
        }
    }
}

/// Panics, with what happened and what to do, unless the last forward pass `last` is the one
/// backward pass `call` of network `net` goes back through (`wanted`). A programming error, as
/// an index out of bounds: no data makes it happen.
#[doc(hidden)]
#[track_caller]
#[inline]
pub fn expect_forward(last: Forward, wanted: Forward, call: &str, net: &str) {
    if last != wanted {
        mismatch(last, wanted, call, net);
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn mismatch(last: Forward, wanted: Forward, call: &str, net: &str) -> ! {
    let happened = match last {
        Forward::None => "no forward pass has run yet",
        _ => "the last forward pass was ",
    };
    let last_call = if last == Forward::None {
        ""
    } else {
        last.calls()
    };
    panic!(
        "`{net}::{call}` goes back through the states of {}, but {happened}{last_call}: {} (a \
         backward pass through another pass's states gives wrong gradients)",
        wanted.calls(),
        last.advice()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matching_forward_pass_passes() {
        for f in [
            Forward::Fprop,
            Forward::Run,
            Forward::FpropBatch,
            Forward::RunBatch,
        ] {
            expect_forward(f, f, "bprop", "Net");
        }
    }

    #[test]
    #[should_panic(
        expected = "`Net::bprop` goes back through the states of `fprop`, but the \
                               last forward pass was `fprop_batch`: call `bprop_batch`"
    )]
    fn a_sample_backward_after_a_minibatch_panics() {
        expect_forward(Forward::FpropBatch, Forward::Fprop, "bprop", "Net");
    }

    #[test]
    #[should_panic(
        expected = "but the last forward pass was `run`: `run` computes the output \
                               alone"
    )]
    fn a_backward_after_run_panics() {
        expect_forward(Forward::Run, Forward::Fprop, "bprop", "Net");
    }

    #[test]
    #[should_panic(expected = "but no forward pass has run yet: run the matching forward pass")]
    fn a_backward_before_any_forward_panics() {
        expect_forward(Forward::None, Forward::FpropBatch, "bprop_batch", "Net");
    }
}
