//! The states of a minibatch: one row per sample.

use crate::{Error, Float};

/// A state for a minibatch of up to `capacity` samples: `x[i]` and `dx[i]` are sample `i`'s.
///
/// The rows are contiguous: a batch of a Linear module's inputs is one row-major matrix.
///
/// ```
/// let b = bpnet_runtime::Batch::<f32, 3>::new(8);
/// assert_eq!(b.capacity(), 8);
/// assert_eq!(b.x[7], [0.0; 3]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Batch<F, const W: usize> {
    /// The forward values, one row per sample.
    pub x: Vec<[F; W]>,
    /// dE/dx, one row per sample.
    pub dx: Vec<[F; W]>,
    /// ∂²E/∂x² (diagonal, Gauss–Newton), one row per sample, computed by bbprop.
    pub ddx: Vec<[F; W]>,
}

impl<F: Float, const W: usize> Batch<F, W> {
    /// Rows for `capacity` samples, zeroed.
    ///
    /// # Panics
    /// If the rows cannot be allocated (see [`Batch::try_new`], which returns the error instead).
    #[track_caller]
    pub fn new(capacity: usize) -> Self {
        Self::try_new(capacity).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Rows for `capacity` samples, zeroed, or [`Error::Alloc`] if their size overflows `usize`
    /// or the system cannot allocate them (instead of aborting the process).
    ///
    /// ```
    /// use bpnet_runtime::{Batch, Error};
    ///
    /// assert_eq!(Batch::<f32, 3>::try_new(8)?.capacity(), 8);
    /// assert!(matches!(Batch::<f32, 3>::try_new(usize::MAX / 2), Err(Error::Alloc { .. })));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn try_new(capacity: usize) -> Result<Self, Error> {
        let bytes = Self::bytes(capacity);
        let err = |_| Error::Alloc {
            what: "the rows of a minibatch state (x, dx and ddx)",
            bytes,
        };
        bytes.ok_or(()).map_err(err)?;
        Ok(Self {
            x: filled(capacity, [F::ZERO; W]).map_err(err)?,
            dx: filled(capacity, [F::ZERO; W]).map_err(err)?,
            ddx: filled(capacity, [F::ZERO; W]).map_err(err)?,
        })
    }

    /// The bytes of the rows of `capacity` samples (`x`, `dx` and `ddx`), `None` on overflow.
    pub(crate) fn bytes(capacity: usize) -> Option<usize> {
        capacity.checked_mul(size_of::<[F; W]>())?.checked_mul(3)
    }

    /// The most samples one call can take.
    pub fn capacity(&self) -> usize {
        self.x.len()
    }

    /// Loads samples into the first rows.
    #[doc(hidden)]
    #[inline]
    pub fn __load(&mut self, rows: &[[F; W]]) {
        self.x[..rows.len()].copy_from_slice(rows);
    }

    /// Zeroes `dx` of the first `rows` rows (for a state whose derivative gathers contributions
    /// from several steps).
    #[doc(hidden)]
    #[inline]
    pub fn __clear_dx(&mut self, rows: usize) {
        self.dx[..rows].fill([F::ZERO; W]);
    }

    /// Zeroes `ddx` of the first `rows` rows.
    #[doc(hidden)]
    #[inline]
    pub fn __clear_ddx(&mut self, rows: usize) {
        self.ddx[..rows].fill([F::ZERO; W]);
    }
}

impl<F: Float> Batch<F, 1> {
    /// The sum of the first `rows` values (the energy of a minibatch).
    #[doc(hidden)]
    #[inline]
    pub fn __sum(&self, rows: usize) -> F {
        self.x[..rows].iter().map(|v| v[0]).sum()
    }

    /// dE/dE = 1 for every sample.
    #[doc(hidden)]
    #[inline]
    pub fn __seed(&mut self, rows: usize) {
        for d in &mut self.dx[..rows] {
            d[0] = F::ONE;
        }
    }

    /// The Gauss–Newton weight of every sample's energy: 1, as its `dx`.
    #[doc(hidden)]
    #[inline]
    pub fn __seed_dd(&mut self, rows: usize) {
        for d in &mut self.ddx[..rows] {
            d[0] = F::ONE;
        }
    }
}

/// `n` copies of `value`, or `Err` if they cannot be allocated.
pub(crate) fn filled<T: Clone>(n: usize, value: T) -> Result<Vec<T>, ()> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| ())?;
    v.resize(n, value);
    Ok(v)
}

/// The number of samples of a minibatch call (of sequences, for an unfolded network): all inputs
/// the same, at least 1 and at most `capacity`.
///
/// # Errors
/// [`Error::Rows`] for an input whose number of rows differs from the first's,
/// [`Error::EmptyBatch`] for none (no samples), [`Error::BatchTooLarge`] for more than
/// `capacity`.
#[doc(hidden)]
pub fn batch_len(lens: &[(&'static str, usize)], capacity: usize) -> Result<usize, crate::Error> {
    let Some(&(first, rows)) = lens.first() else {
        return Err(crate::Error::EmptyBatch { input: "" });
    };
    for &(input, found) in lens {
        if found != rows {
            return Err(crate::Error::Rows {
                input,
                expected: rows,
                found,
            });
        }
    }
    if rows == 0 {
        return Err(crate::Error::EmptyBatch { input: first });
    }
    if rows > capacity {
        return Err(crate::Error::BatchTooLarge {
            input: first,
            capacity,
            found: rows,
        });
    }
    Ok(rows)
}

/// An input or a target of a minibatch read where the caller keeps it, for a network's
/// `train_sgd_batch`: its rows `x` borrowed from the caller instead of copied into the batch,
/// and its derivatives `dx` in the batch's room (written only with input gradients on). The
/// generated sweep reads it as it reads a [`Batch`]: `x[..rows]`, `dx[..rows]`.
#[doc(hidden)]
pub struct Given<'a, F, const W: usize> {
    /// The caller's rows.
    pub x: &'a [[F; W]],
    /// The batch's derivatives.
    pub dx: &'a mut [[F; W]],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_minibatch_is_an_error() {
        assert_eq!(
            batch_len(&[("x", 0), ("y", 0)], 8),
            Err(Error::EmptyBatch { input: "x" })
        );
        // Also with no room reserved: the batch is empty before it is too large.
        assert_eq!(
            batch_len(&[("x", 0)], 0),
            Err(Error::EmptyBatch { input: "x" })
        );
        // Lengths that differ are reported as such, even if the first is 0.
        assert_eq!(
            batch_len(&[("x", 0), ("y", 2)], 8),
            Err(Error::Rows {
                input: "y",
                expected: 0,
                found: 2
            })
        );
        assert_eq!(batch_len(&[("x", 1), ("y", 1)], 8), Ok(1));
        let message = Error::EmptyBatch { input: "x" }.to_string();
        assert!(message.contains("no samples"), "{message}");
    }

    #[test]
    fn a_capacity_that_cannot_be_allocated_is_an_error() {
        // The size overflows usize: nothing is allocated.
        assert_eq!(
            Batch::<f32, 3>::try_new(usize::MAX / 2),
            Err(Error::Alloc {
                what: "the rows of a minibatch state (x, dx and ddx)",
                bytes: None
            })
        );
        // The size fits in usize (3 × 2⁶⁰ bytes) but no system can allocate it.
        let capacity = 1 << 57;
        match Batch::<f64, 1>::try_new(capacity) {
            Err(Error::Alloc { bytes, .. }) => assert_eq!(bytes, Some(3 << 60)),
            other => panic!("{other:?}"),
        }
        let message = Batch::<f64, 1>::try_new(capacity).unwrap_err().to_string();
        assert!(message.contains("smaller batch capacity"), "{message}");
        assert_eq!(Batch::<f32, 2>::try_new(5).unwrap(), Batch::new(5));
    }

    #[test]
    #[should_panic(expected = "cannot allocate the rows of a minibatch state")]
    fn the_infallible_constructor_panics_with_the_message() {
        let _ = Batch::<f32, 3>::new(usize::MAX / 2);
    }
}
