//! The states of an unfolded network for a minibatch of sequences: one [`Batch`] (a row per
//! sequence) per time step, after the values a delayed connection reads before the first step.

use crate::{Batch, Error, Float};
use core::ops::{Index, IndexMut};

/// One [`Batch`] per time step of an unfolded network: `h[t].x[i]` is the state at step `t` of
/// sequence `i` of the minibatch. Allocated once, by `reserve_batch`.
///
/// Each step's rows are contiguous, so at every step a Linear module multiplies one row-major
/// matrix (a row per sequence). As in [`Steps`](crate::Steps), a state read with a delay of up to
/// `K` steps also keeps `K` earlier values: [`BatchSteps::initial`]`(k)` holds every sequence's
/// value at step `−k`.
///
/// ```
/// let mut h = bpnet_runtime::BatchSteps::<f32, 2>::new(1, 4, 8);
/// h[3].x[5] = [1.0, 2.0];
/// assert_eq!((h.len(), h.capacity()), (4, 8));
/// assert_eq!(h.initial(1).x[5], [0.0, 0.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BatchSteps<F, const W: usize> {
    history: usize,
    capacity: usize,
    /// The history (`history` slots, step −history first) then the steps. Generated code indexes
    /// it directly, with offsets known when the macro expands.
    #[doc(hidden)]
    pub __slots: Box<[Batch<F, W>]>,
}

impl<F: Float, const W: usize> BatchSteps<F, W> {
    /// `steps` zeroed batches of `capacity` rows after `history` zeroed earlier ones.
    ///
    /// # Panics
    /// If they cannot be allocated (see [`BatchSteps::try_new`], which returns the error
    /// instead).
    #[track_caller]
    pub fn new(history: usize, steps: usize, capacity: usize) -> Self {
        Self::try_new(history, steps, capacity).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `steps` zeroed batches of `capacity` rows after `history` zeroed earlier ones, or
    /// [`Error::Alloc`] if their size overflows `usize` or the system cannot allocate them
    /// (instead of aborting the process). Nothing is allocated when the size overflows.
    ///
    /// ```
    /// use bpnet_runtime::{BatchSteps, Error};
    ///
    /// assert_eq!(BatchSteps::<f32, 2>::try_new(1, 4, 8)?.capacity(), 8);
    /// let huge = BatchSteps::<f32, 2>::try_new(1, 4, usize::MAX / 8);
    /// assert!(matches!(huge, Err(Error::Alloc { bytes: None, .. })));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn try_new(history: usize, steps: usize, capacity: usize) -> Result<Self, Error> {
        let slots = history.checked_add(steps);
        let bytes = slots.and_then(|n| n.checked_mul(Batch::<F, W>::bytes(capacity)?));
        let err = |_| Error::Alloc {
            what: "the steps of a minibatch state (x, dx and ddx at every step)",
            bytes,
        };
        let slots = slots.filter(|_| bytes.is_some()).ok_or(()).map_err(err)?;
        let mut all = Vec::new();
        all.try_reserve_exact(slots).map_err(|_| err(()))?;
        for _ in 0..slots {
            all.push(Batch::try_new(capacity).map_err(|_| err(()))?);
        }
        Ok(Self {
            history,
            capacity,
            __slots: all.into_boxed_slice(),
        })
    }

    /// The number of steps `T` (the longest sequences the network runs).
    pub fn len(&self) -> usize {
        self.__slots.len() - self.history
    }

    /// Whether there are no steps (never, for a network: `T ≥ 1`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most sequences one call can take.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many steps back a module reads this state (0 if none does).
    pub fn history(&self) -> usize {
        self.history
    }

    /// Every sequence's value at step `−lag` (`1 ≤ lag ≤ history`).
    ///
    /// # Panics
    /// If `lag` is 0 or more than [`BatchSteps::history`].
    pub fn initial(&self, lag: usize) -> &Batch<F, W> {
        assert!(
            lag >= 1 && lag <= self.history,
            "no initial value {lag} steps back"
        );
        &self.__slots[self.history - lag]
    }

    /// The batches of the first `len` steps.
    pub fn first(&self, len: usize) -> &[Batch<F, W>] {
        &self.__slots[self.history..self.history + len]
    }

    /// Zeroes `dx` of the first `rows` rows of the history and of the first `len` steps (for
    /// states whose derivative gathers contributions from several steps).
    #[doc(hidden)]
    pub fn __clear_dx(&mut self, len: usize, rows: usize) {
        for s in &mut self.__slots[..self.history + len] {
            s.dx[..rows].fill([F::ZERO; W]);
        }
    }

    /// Zeroes `ddx` of the first `rows` rows of the history and of the first `len` steps.
    #[doc(hidden)]
    pub fn __clear_ddx(&mut self, len: usize, rows: usize) {
        for s in &mut self.__slots[..self.history + len] {
            s.ddx[..rows].fill([F::ZERO; W]);
        }
    }

    /// Sets the first `rows` rows of every history value to `value` (fresh sequences).
    #[doc(hidden)]
    pub fn __start(&mut self, value: &[F], rows: usize) {
        for s in &mut self.__slots[..self.history] {
            for r in &mut s.x[..rows] {
                r.copy_from_slice(value);
            }
        }
    }

    /// Makes the last `history` values of a run of `len` steps the history of the next run, for
    /// the first `rows` rows.
    #[doc(hidden)]
    pub fn __carry(&mut self, len: usize, rows: usize) {
        for d in 0..self.history {
            let (head, tail) = self.__slots.split_at_mut(d + len);
            head[d].x[..rows].copy_from_slice(&tail[0].x[..rows]);
        }
    }

    /// Copies sequence `i` into row `i` of the first steps (the sequences' lengths are checked
    /// by the caller).
    #[doc(hidden)]
    pub fn __load<S: AsRef<[[F; W]]>>(&mut self, seqs: &[S]) {
        for (row, seq) in seqs.iter().enumerate() {
            for (s, v) in self.__slots[self.history..].iter_mut().zip(seq.as_ref()) {
                s.x[row] = *v;
            }
        }
    }

    /// Adds the `dx` of the first `rows` rows of every history value into `g`: the gradient of a
    /// learned initial value shared by all sequences.
    #[doc(hidden)]
    pub fn __initial_grad(&self, rows: usize, g: &mut [F]) {
        Self::gather(&self.__slots[..self.history], |s| &s.dx[..rows], g);
    }

    /// Adds the `ddx` of the first `rows` rows of every history value into `g`: the second
    /// derivative of a learned initial value shared by all sequences.
    #[doc(hidden)]
    pub fn __initial_ddgrad(&self, rows: usize, g: &mut [F]) {
        Self::gather(&self.__slots[..self.history], |s| &s.ddx[..rows], g);
    }

    fn gather(slots: &[Batch<F, W>], rows: impl Fn(&Batch<F, W>) -> &[[F; W]], g: &mut [F]) {
        for s in slots {
            for r in rows(s) {
                for (gi, d) in g.iter_mut().zip(r) {
                    *gi += *d;
                }
            }
        }
    }
}

impl<F, const W: usize> Index<usize> for BatchSteps<F, W> {
    type Output = Batch<F, W>;
    fn index(&self, t: usize) -> &Batch<F, W> {
        &self.__slots[self.history + t]
    }
}

impl<F, const W: usize> IndexMut<usize> for BatchSteps<F, W> {
    fn index_mut(&mut self, t: usize) -> &mut Batch<F, W> {
        &mut self.__slots[self.history + t]
    }
}

/// A per-step output of a minibatch of sequences, as `run_batch` returns it: the value at every
/// step run (`out.steps()` of them) of every sequence (`out.rows()`).
///
/// `out[t][i]` (or `out.step(t)[i]`) is sequence `i`'s output at step `t`; `out.sequence(i)` walks
/// one sequence's outputs in order.
#[derive(Clone, Copy, Debug)]
pub struct StepRows<'a, F, const W: usize> {
    steps: &'a [Batch<F, W>],
    rows: usize,
}

impl<'a, F, const W: usize> StepRows<'a, F, W> {
    /// The first `rows` rows of `steps`.
    #[doc(hidden)]
    pub fn __new(steps: &'a [Batch<F, W>], rows: usize) -> Self {
        Self { steps, rows }
    }

    /// The number of steps run.
    pub fn steps(&self) -> usize {
        self.steps.len()
    }

    /// The number of sequences.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Every sequence's value at step `t`.
    ///
    /// # Panics
    /// If `t` is not less than [`StepRows::steps`].
    pub fn step(&self, t: usize) -> &'a [[F; W]] {
        &self.steps[t].x[..self.rows]
    }

    /// Sequence `i`'s values, step after step.
    ///
    /// # Panics
    /// If `i` is not less than [`StepRows::rows`].
    pub fn sequence(&self, i: usize) -> impl ExactSizeIterator<Item = &'a [F; W]> + 'a {
        assert!(i < self.rows, "no sequence {i} in a batch of {}", self.rows);
        self.steps.iter().map(move |s| &s.x[i])
    }
}

impl<F, const W: usize> Index<usize> for StepRows<'_, F, W> {
    type Output = [[F; W]];
    fn index(&self, t: usize) -> &[[F; W]] {
        self.step(t)
    }
}

/// The common length of the sequences a minibatch gives for one input: that of the first (0 for
/// no sequence), or [`Error::Length`] for the first that differs.
#[doc(hidden)]
pub fn batch_seq_len<F, const W: usize, S: AsRef<[[F; W]]>>(
    input: &'static str,
    seqs: &[S],
) -> Result<usize, Error> {
    let len = seqs.first().map_or(0, |s| s.as_ref().len());
    for s in seqs {
        let found = s.as_ref().len();
        if found != len {
            return Err(Error::Length {
                input,
                expected: len,
                found,
            });
        }
    }
    Ok(len)
}

/// Checks that a continued minibatch call has at most as many sequences as the call it continues
/// (`previous`: that call's number of sequences, `None` if the call starts afresh).
#[doc(hidden)]
pub fn continue_rows(
    input: &'static str,
    previous: Option<usize>,
    rows: usize,
) -> Result<(), Error> {
    match previous {
        Some(expected) if rows > expected => Err(Error::Continuation {
            input,
            expected,
            found: rows,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_rows_and_history() {
        let mut h = BatchSteps::<f64, 2>::new(2, 3, 4);
        h.__load(&[vec![[1.0, 1.0], [2.0, 2.0]], vec![[3.0, 3.0], [4.0, 4.0]]]);
        assert_eq!(h[1].x[..2], [[2.0, 2.0], [4.0, 4.0]]);
        assert_eq!(h[2].x[0], [0.0, 0.0]);
        h.__start(&[0.5, -0.5], 2);
        assert_eq!(h.initial(2).x[1], [0.5, -0.5]);
        assert_eq!(h.initial(1).x[2], [0.0, 0.0]);
        // Carry two steps of a run of two: steps 0 and 1 become steps −2 and −1.
        h.__carry(2, 2);
        assert_eq!(h.initial(2).x[..2], [[1.0, 1.0], [3.0, 3.0]]);
        assert_eq!(h.initial(1).x[..2], [[2.0, 2.0], [4.0, 4.0]]);
        h.__slots[0].dx[0] = [1.0, 2.0];
        h.__slots[1].dx[1] = [10.0, 20.0];
        h.__slots[1].dx[2] = [100.0, 100.0]; // past the rows: left out
        let mut g = [0.0; 2];
        h.__initial_grad(2, &mut g);
        assert_eq!(g, [11.0, 22.0]);
        h.__clear_dx(3, 2);
        assert_eq!(h.__slots[1].dx[..3], [[0.0; 2], [0.0; 2], [100.0, 100.0]]);
    }

    #[test]
    fn step_rows_by_step_and_by_sequence() {
        let mut h = BatchSteps::<f32, 1>::new(0, 3, 4);
        h.__load(&[[[1.0], [2.0]], [[3.0], [4.0]]]);
        let out = StepRows::__new(h.first(2), 2);
        assert_eq!((out.steps(), out.rows()), (2, 2));
        assert_eq!(out[1], [[2.0], [4.0]]);
        assert_eq!(out.sequence(1).copied().collect::<Vec<_>>(), [[3.0], [4.0]]);
    }

    #[test]
    fn steps_that_cannot_be_allocated_are_an_error() {
        // Too many slots, too many rows, too many bytes: overflows, nothing allocated.
        for (history, steps, capacity) in [(usize::MAX, 1, 1), (1, 4, usize::MAX / 8)] {
            assert_eq!(
                BatchSteps::<f32, 2>::try_new(history, steps, capacity),
                Err(Error::Alloc {
                    what: "the steps of a minibatch state (x, dx and ddx at every step)",
                    bytes: None
                })
            );
        }
        // Fits in usize (4 slots × 3 × 2⁵⁸ bytes), but no system can allocate it.
        match BatchSteps::<f64, 1>::try_new(1, 3, 1 << 55) {
            Err(Error::Alloc { bytes, .. }) => assert_eq!(bytes, Some(3 << 60)),
            other => panic!("{other:?}"),
        }
        let h = BatchSteps::<f64, 2>::try_new(2, 3, 4).unwrap();
        assert_eq!(h, BatchSteps::new(2, 3, 4));
        assert_eq!((h.len(), h.history(), h.capacity()), (3, 2, 4));
    }

    #[test]
    #[should_panic(expected = "cannot allocate the steps of a minibatch state")]
    fn the_infallible_constructor_panics_with_the_message() {
        let _ = BatchSteps::<f32, 2>::new(1, 4, usize::MAX / 8);
    }

    #[test]
    fn sequences_of_one_input_have_one_length() {
        assert_eq!(batch_seq_len::<f32, 1, _>("x", &[[[0.0]; 3]; 2]), Ok(3));
        assert_eq!(batch_seq_len::<f32, 1, &[[f32; 1]]>("x", &[]), Ok(0));
        assert_eq!(
            batch_seq_len("x", &[vec![[0.0f32]; 3], vec![[0.0]; 2]]),
            Err(Error::Length {
                input: "x",
                expected: 3,
                found: 2
            })
        );
    }
}
