//! The states of a network's inference form (`NameFrozen`, made by `network!`): values alone,
//! without the derivatives a training network keeps beside them, in fixed-size arrays, so that
//! the form needs neither the standard library nor a heap.

use crate::Float;

/// A state's value alone: the `x` of a [`State`](crate::State) without its `dx` and `ddx`
/// (inference computes no derivative), a third of the memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Value<F, const N: usize> {
    /// The value.
    pub x: [F; N],
}

impl<F: Float, const N: usize> Value<F, N> {
    /// Zeros.
    pub const fn new() -> Self {
        Self { x: [F::ZERO; N] }
    }
}

impl<F: Float, const N: usize> Default for Value<F, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// A per-step state of an unfolded network run one step per call: the values its delayed reads
/// see (`h[t − 1]`, …, `h[t − (S − 1)]`) and the current step's, oldest first, as the slots of
/// [`Steps`](crate::Steps) with a run of one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Recent<F, const N: usize, const S: usize> {
    /// The slots: `S − 1` earlier steps, then the current one. Generated code indexes them.
    #[doc(hidden)]
    pub __slots: [Value<F, N>; S],
}

impl<F: Float, const N: usize, const S: usize> Recent<F, N, S> {
    /// All zeros.
    pub const fn new() -> Self {
        Self {
            __slots: [const { Value::new() }; S],
        }
    }

    /// The current step's value.
    pub fn now(&self) -> &[F; N] {
        &self.__slots[S - 1].x
    }

    /// Sets every earlier step to `value` (the initial values, before step 0). A `const fn`,
    /// as is everything the inference form's constructor calls, so that a network can be made
    /// in a `static`.
    ///
    /// # Panics
    /// If `value` has fewer than `N` values.
    #[doc(hidden)]
    pub const fn __start(&mut self, value: &[F]) {
        self.__start_from(value, 0);
    }

    /// [`Self::__start`] from `params[offset..offset + N]` (a learned initial value, in the
    /// pool).
    ///
    /// # Panics
    /// If `params` has fewer than `offset + N` values.
    #[doc(hidden)]
    pub const fn __start_from(&mut self, params: &[F], offset: usize) {
        let mut d = 0;
        while d + 1 < S {
            let mut i = 0;
            while i < N {
                self.__slots[d].x[i] = params[offset + i];
                i += 1;
            }
            d += 1;
        }
    }

    /// After a step: each earlier slot takes the next one's value, so that the step just run
    /// is `t − 1` of the next.
    #[doc(hidden)]
    pub fn __carry(&mut self) {
        for d in 0..S - 1 {
            self.__slots[d].x = self.__slots[d + 1].x;
        }
    }
}

impl<F: Float, const N: usize, const S: usize> Default for Recent<F, N, S> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    /// The slots shift by one step, the current value becoming `t − 1`.
    #[test]
    fn carry_shifts_one_step() {
        let mut r = Recent::<f32, 2, 3>::new();
        r.__start(&[1.0, 2.0]);
        assert_eq!(r.__slots[0].x, [1.0, 2.0]);
        assert_eq!(r.__slots[1].x, [1.0, 2.0]);
        r.__slots[2].x = [5.0, 6.0];
        assert_eq!(r.now(), &[5.0, 6.0]);
        r.__carry();
        assert_eq!(r.__slots[0].x, [1.0, 2.0]);
        assert_eq!(r.__slots[1].x, [5.0, 6.0]);
        r.__slots[2].x = [7.0, 8.0];
        r.__carry();
        assert_eq!(r.__slots[0].x, [5.0, 6.0]);
        assert_eq!(r.__slots[1].x, [7.0, 8.0]);
    }
}
