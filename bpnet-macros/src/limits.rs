//! The largest values a declaration may give, checked when the macro expands so that a network
//! that compiles can be allocated. Each limit is far above any network the crate is meant for and
//! far below what would overflow the arithmetic of the generated code (`usize` on a 32-bit
//! target included) or the memory of one machine.
//!
//! - A state's width is at most [`MAX_WIDTH`] = 2^20 components. A state is three fixed-size
//!   arrays (`x`, `dx`, `ddx`) inside the network's struct, which `new` builds on the stack: at
//!   2^20 `f64` components one state is already 24 MiB, beyond a default 8 MiB main-thread stack;
//!   a larger width only turns a compile-time number into a crash at run time.
//! - `unfold T` runs at most [`MAX_STEPS`] = 2^20 steps (and so a delay `h[t - k]` or a step of a
//!   range `e[a..b]` is at most 2^20): every per-step state keeps `T` states, allocated when the
//!   network is created.
//! - The pool holds at most [`MAX_PARAMS`] = 2^31 parameters (8 GiB of `f32` for the parameters
//!   alone, as much again for the gradients and for the curvature): a linear of 2^20 × 2^11 is
//!   allowed, one of 2^20 × 2^20 is not. The count is the sum over the built-in modules (a
//!   linear's `out × in`, with `bias = true` `+ out`) and the learned initial values, with checked
//!   arithmetic; a user module's parameters are its own type's `PARAMS`, which the macro cannot
//!   see.

/// The largest width of a state, 2^20 components.
pub const MAX_WIDTH: usize = 1 << 20;
/// The largest `T` of `unfold T`, 2^20 steps; also the largest delay or step of a range.
pub const MAX_STEPS: usize = 1 << 20;
/// The largest number of parameters in the pool, 2^31.
pub const MAX_PARAMS: usize = 1 << 31;

/// The widest state for which the per-sample kernels called are the ones monomorphic on the
/// widths (`fprop_n`, `bprop_n`, the fused `bprop_sgd_n`): they copy their operands into local
/// arrays, on the stack of a sweep that inlines every kernel, so a wide network would need a
/// stack in proportion (a 50,000-wide tanh overflowed 2 MiB). Wider states go through the slice
/// kernels, whose time is in the arithmetic anyway.
pub const LOCAL_WIDTH: usize = 1024;

/// The most state components (all states' widths added up) for which `train_sgd`'s sweep works
/// on local copies of the states rather than the network's fields: locals the compiler keeps
/// in registers where a field written by one kernel and read by the next went through memory
/// (XOR's step: 82 ns on the fields, 76 on locals). Beyond it, the copies would cost more than
/// they save.
pub const LOCAL_STATES: usize = 512;

/// A limit as messages write it: `1048576 (2^20)`.
pub fn show(limit: usize) -> String {
    format!("{limit} (2^{})", limit.trailing_zeros())
}

/// The value of an integer literal's digits, if it is at most `max`.
pub fn at_most(lit: &syn::LitInt, max: usize) -> Option<usize> {
    lit.base10_parse::<usize>().ok().filter(|&v| v <= max)
}
