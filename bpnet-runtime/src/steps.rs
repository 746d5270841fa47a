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

/// The values of a per-step output over the steps of one call, as the `run`, `run_continued` and
/// `try_run` of an unfolded network whose output is inside its `unfold` block return them (an
/// output after the block, `output o = wo: linear(last(h) -> 2)`, is one `&[F; W]`): `out[t]` is the output's value `&[F; W]` at step
/// `t` of the call (`0 ≤ t < out.len()`, the number of steps run), so `out[t][0]` is its first
/// component.
///
/// `run` returns values, never states: the states (`x`, `dx` and `ddx`) stay on the network's
/// public fields, `net.o[t].x` for an output `o` (and `net.o[t].dx`, `net.o[t].ddx` after fprop,
/// bprop and bbprop). A view borrows the network; copy it out with [`StepValues::to_vec`] to
/// keep it past the next call.
///
/// ```
/// use bpnet_runtime::{StepValues, Steps};
///
/// let mut o = Steps::<f32, 2>::new(1, 4);
/// for t in 0..3 {
///     o[t].x = [t as f32, -(t as f32)];
/// }
/// let out = StepValues::__new(o.first(3)); // what `run` returns after 3 steps
/// assert_eq!(out.len(), 3);
/// assert_eq!(out[2], [2.0, -2.0]);
/// assert_eq!(out[2][0], 2.0);
/// assert_eq!(out.last(), Some(&[2.0, -2.0]));
/// let firsts: Vec<f32> = out.iter().map(|v| v[0]).collect();
/// assert_eq!(firsts, [0.0, 1.0, 2.0]);
/// assert_eq!(out.to_vec(), [[0.0, 0.0], [1.0, -1.0], [2.0, -2.0]]);
/// ```
pub struct StepValues<'a, F, const W: usize> {
    steps: &'a [State<F, W>],
}

impl<'a, F, const W: usize> StepValues<'a, F, W> {
    /// The values of `steps`, the states of the steps run.
    #[doc(hidden)]
    pub fn __new(steps: &'a [State<F, W>]) -> Self {
        Self { steps }
    }

    /// The number of steps run.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether no step was run (never after a call that succeeded: a sequence has at least one
    /// step).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The value at step `t`, or `None` if `t` is not less than [`StepValues::len`].
    pub fn get(&self, t: usize) -> Option<&'a [F; W]> {
        self.steps.get(t).map(|s| &s.x)
    }

    /// The value at the first step of the call.
    pub fn first(&self) -> Option<&'a [F; W]> {
        self.steps.first().map(|s| &s.x)
    }

    /// The value at the last step run (what a sequence classifier, or a forecast, reads).
    pub fn last(&self) -> Option<&'a [F; W]> {
        self.steps.last().map(|s| &s.x)
    }

    /// The values step after step.
    pub fn iter(&self) -> StepValuesIter<'a, F, W> {
        StepValuesIter {
            steps: self.steps.iter(),
        }
    }

    /// The values, copied into a `Vec`: one array per step.
    pub fn to_vec(&self) -> Vec<[F; W]>
    where
        F: Copy,
    {
        self.iter().copied().collect()
    }
}

impl<F, const W: usize> Clone for StepValues<'_, F, W> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F, const W: usize> Copy for StepValues<'_, F, W> {}

/// The values, as a list (`[[0.5], [0.25]]`): not the states.
impl<F: core::fmt::Debug, const W: usize> core::fmt::Debug for StepValues<'_, F, W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Equal values at every step (the states' `dx` and `ddx` are not compared).
impl<F: PartialEq, const W: usize> PartialEq for StepValues<'_, F, W> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<F, const W: usize> Index<usize> for StepValues<'_, F, W> {
    type Output = [F; W];
    /// # Panics
    /// If `t` is not less than [`StepValues::len`].
    fn index(&self, t: usize) -> &[F; W] {
        &self.steps[t].x
    }
}

impl<'a, F, const W: usize> IntoIterator for StepValues<'a, F, W> {
    type Item = &'a [F; W];
    type IntoIter = StepValuesIter<'a, F, W>;
    fn into_iter(self) -> StepValuesIter<'a, F, W> {
        self.iter()
    }
}

impl<'a, F, const W: usize> IntoIterator for &StepValues<'a, F, W> {
    type Item = &'a [F; W];
    type IntoIter = StepValuesIter<'a, F, W>;
    fn into_iter(self) -> StepValuesIter<'a, F, W> {
        self.iter()
    }
}

/// The iterator of [`StepValues::iter`]: the value at every step run, in order.
pub struct StepValuesIter<'a, F, const W: usize> {
    steps: core::slice::Iter<'a, State<F, W>>,
}

impl<F, const W: usize> Clone for StepValuesIter<'_, F, W> {
    fn clone(&self) -> Self {
        Self {
            steps: self.steps.clone(),
        }
    }
}

impl<F: core::fmt::Debug, const W: usize> core::fmt::Debug for StepValuesIter<'_, F, W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.steps.as_slice().iter().map(|s| &s.x))
            .finish()
    }
}

impl<'a, F, const W: usize> Iterator for StepValuesIter<'a, F, W> {
    type Item = &'a [F; W];
    fn next(&mut self) -> Option<&'a [F; W]> {
        self.steps.next().map(|s| &s.x)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.steps.size_hint()
    }
    fn nth(&mut self, n: usize) -> Option<&'a [F; W]> {
        self.steps.nth(n).map(|s| &s.x)
    }
}

impl<'a, F, const W: usize> DoubleEndedIterator for StepValuesIter<'a, F, W> {
    fn next_back(&mut self) -> Option<&'a [F; W]> {
        self.steps.next_back().map(|s| &s.x)
    }
}

impl<F, const W: usize> ExactSizeIterator for StepValuesIter<'_, F, W> {}

impl<F, const W: usize> core::iter::FusedIterator for StepValuesIter<'_, F, W> {}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> Steps<f64, 2> {
        let mut h = Steps::<f64, 2>::new(1, 4);
        for t in 0..4 {
            h[t].x = [t as f64, 10.0 * t as f64];
            h[t].dx = [-1.0; 2]; // states, not values: never in the view
        }
        h.__slots[0].x = [99.0; 2]; // the history: never in the view
        h
    }

    #[test]
    fn step_values_index_len_first_last() {
        let h = filled();
        let out = StepValues::__new(h.first(3));
        assert_eq!((out.len(), out.is_empty()), (3, false));
        assert_eq!(out[0], [0.0, 0.0]);
        assert_eq!(out[2], [2.0, 20.0]);
        assert_eq!(out[1][1], 10.0);
        assert_eq!(out.get(2), Some(&[2.0, 20.0]));
        assert_eq!(out.get(3), None); // step 3 was not run
        assert_eq!(out.first(), Some(&[0.0, 0.0]));
        assert_eq!(out.last(), Some(&[2.0, 20.0]));
        let empty = StepValues::__new(h.first(0));
        assert_eq!((empty.len(), empty.is_empty()), (0, true));
        assert_eq!(
            (empty.first(), empty.last(), empty.iter().next()),
            (None, None, None)
        );
        assert_eq!(empty.to_vec(), Vec::<[f64; 2]>::new());
    }

    #[test]
    #[should_panic(expected = "index out of bounds")]
    fn step_values_index_past_the_steps_run_panics() {
        let h = filled();
        let _ = StepValues::__new(h.first(3))[3];
    }

    #[test]
    fn step_values_iter_and_to_vec() {
        let h = filled();
        let out = StepValues::__new(h.first(3));
        let want = [[0.0, 0.0], [1.0, 10.0], [2.0, 20.0]];
        assert_eq!(out.to_vec(), want);
        let it = out.iter();
        assert_eq!(it.len(), 3);
        assert_eq!(it.copied().collect::<Vec<_>>(), want);
        assert_eq!(out.iter().next_back(), Some(&want[2]));
        let mut it = out.iter();
        it.next();
        assert_eq!((it.len(), it.clone().count()), (2, 2));
        assert_eq!(it.nth(1), Some(&want[2]));
        assert_eq!((it.len(), it.next()), (0, None));
        let mut n = 0;
        for (t, v) in out.into_iter().enumerate() {
            assert_eq!(*v, want[t]);
            n += 1;
        }
        for v in &out {
            assert_eq!(v.len(), 2);
        }
        assert_eq!(n, 3);
    }

    #[test]
    fn step_values_copy_eq_and_debug_see_values_only() {
        let h = filled();
        let out = StepValues::__new(h.first(2));
        let copy = out; // Copy: `out` is still usable
        #[allow(clippy::clone_on_copy)]
        let cloned = out.clone();
        assert_eq!((out.len(), copy.len(), cloned.len()), (2, 2, 2));
        assert_eq!(format!("{out:?}"), "[[0.0, 0.0], [1.0, 10.0]]");
        // Values compared, not states: another dx, the same values.
        let mut other = filled();
        other[1].dx = [7.0; 2];
        assert_eq!(out, StepValues::__new(other.first(2)));
        assert_ne!(out, StepValues::__new(other.first(3)));
        other[1].x[0] = 0.5;
        assert_ne!(out, StepValues::__new(other.first(2)));
        let mut it = out.iter();
        it.next();
        assert_eq!(format!("{it:?}"), "[[1.0, 10.0]]");
    }
}
