//! The states of an unfolded network: one [`State`] per time step, after the values a delayed
//! connection reads before the first step.

use crate::{Error, Float, Input, State};
use core::ops::{Index, IndexMut};

/// One state per time step of an unfolded network, allocated once with the network.
///
/// `steps[t]` is the state at step `t` (`0 ≤ t < T`). A state that some module reads with a delay
/// of up to `K` steps also keeps `K` earlier values: [`Steps::initial`]`(k)` is the value at step
/// `−k`, the network's initial value for that delay (zeros, learned, or carried over from the
/// previous call).
///
/// ```
/// let mut h = bpnet_runtime::Steps::<f32, 2>::new(1, 4);
/// h[3].x = [1.0, 2.0];
/// assert_eq!(h.len(), 4);
/// assert_eq!(h.initial(1).x, [0.0, 0.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Steps<F, const W: usize> {
    history: usize,
    /// The history (`history` slots, step −history first) then the steps. Generated code indexes
    /// it directly, with offsets known when the macro expands.
    #[doc(hidden)]
    pub __slots: Box<[State<F, W>]>,
}

impl<F: Float, const W: usize> Steps<F, W> {
    /// `steps` zeroed states after `history` zeroed earlier values.
    pub fn new(history: usize, steps: usize) -> Self {
        Self {
            history,
            __slots: vec![State::new(); history + steps].into_boxed_slice(),
        }
    }

    /// The number of steps `T` (the longest sequence the network runs).
    pub fn len(&self) -> usize {
        self.__slots.len() - self.history
    }

    /// Whether there are no steps (never, for a network: `T ≥ 1`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many steps back a module reads this state (0 if none does).
    pub fn history(&self) -> usize {
        self.history
    }

    /// The value at step `−lag` (`1 ≤ lag ≤ history`), read by delayed connections at the first
    /// steps.
    ///
    /// # Panics
    /// If `lag` is 0 or more than [`Steps::history`].
    pub fn initial(&self, lag: usize) -> &State<F, W> {
        assert!(
            lag >= 1 && lag <= self.history,
            "no initial value {lag} steps back"
        );
        &self.__slots[self.history - lag]
    }

    /// The states of the first `len` steps.
    pub fn first(&self, len: usize) -> &[State<F, W>] {
        &self.__slots[self.history..self.history + len]
    }
}

impl<F: Float, const W: usize> Steps<F, W> {
    /// Zeroes `dx` of the history and of the first `len` steps (for states whose derivative
    /// gathers contributions from several steps).
    #[doc(hidden)]
    pub fn __clear_dx(&mut self, len: usize) {
        for s in &mut self.__slots[..self.history + len] {
            s.dx = [F::ZERO; W];
        }
    }

    /// Zeroes `ddx` of the history and of the first `len` steps.
    #[doc(hidden)]
    pub fn __clear_ddx(&mut self, len: usize) {
        for s in &mut self.__slots[..self.history + len] {
            s.ddx = [F::ZERO; W];
        }
    }

    /// Sets every history value to `value` (a fresh sequence).
    #[doc(hidden)]
    pub fn __start(&mut self, value: &[F]) {
        for s in &mut self.__slots[..self.history] {
            s.x.copy_from_slice(value);
        }
    }

    /// Makes the last `history` values of a run of `len` steps the history of the next run
    /// (truncated back-propagation through time, or inference step by step).
    #[doc(hidden)]
    pub fn __carry(&mut self, len: usize) {
        for d in 0..self.history {
            self.__slots[d].x = self.__slots[d + len].x;
        }
    }

    /// Copies a sequence into the first `seq.len()` steps.
    #[doc(hidden)]
    pub fn __load(&mut self, seq: &[[F; W]]) {
        for (s, v) in self.__slots[self.history..].iter_mut().zip(seq) {
            s.x = *v;
        }
    }

    /// Loads a sequence given as consecutive steps of `W` values each, checking that it has whole
    /// steps, at most `len()` of them, and no NaN or infinity; returns its number of steps.
    #[doc(hidden)]
    pub fn __load_flat<I: Input<F> + ?Sized>(
        &mut self,
        input: &'static str,
        src: &I,
    ) -> Result<usize, Error> {
        let n = src.width();
        if n % W != 0 {
            return Err(Error::Width {
                input,
                expected: W,
                found: n,
            });
        }
        let steps = n / W;
        if steps > self.len() {
            return Err(Error::TooLong {
                input,
                steps: self.len(),
                found: steps,
            });
        }
        let h = self.history;
        let mut buf = [F::ZERO; W];
        for t in 0..steps {
            src.write_range_into(t * W, &mut buf);
            if let Some(i) = buf.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFinite {
                    input,
                    index: t * W + i,
                });
            }
            self.__slots[h + t].x = buf;
        }
        Ok(steps)
    }
}

/// The common length of a call's sequences: all equal, at least 1, at most `steps`.
#[doc(hidden)]
pub fn seq_len(lens: &[(&'static str, usize)], steps: usize) -> Result<usize, Error> {
    let (first, len) = lens[0];
    for &(input, found) in lens {
        if found != len {
            return Err(Error::Length {
                input,
                expected: len,
                found,
            });
        }
    }
    if len > steps {
        return Err(Error::TooLong {
            input: first,
            steps,
            found: len,
        });
    }
    if len == 0 {
        return Err(Error::Length {
            input: first,
            expected: 1,
            found: 0,
        });
    }
    Ok(len)
}

impl<F, const W: usize> Index<usize> for Steps<F, W> {
    type Output = State<F, W>;
    fn index(&self, t: usize) -> &State<F, W> {
        &self.__slots[self.history + t]
    }
}

impl<F, const W: usize> IndexMut<usize> for Steps<F, W> {
    fn index_mut(&mut self, t: usize) -> &mut State<F, W> {
        &mut self.__slots[self.history + t]
    }
}
