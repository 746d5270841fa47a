//! The states of a minibatch: one row per sample.

use crate::Float;

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
    pub fn new(capacity: usize) -> Self {
        Self {
            x: vec![[F::ZERO; W]; capacity],
            dx: vec![[F::ZERO; W]; capacity],
            ddx: vec![[F::ZERO; W]; capacity],
        }
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

/// The number of samples of a minibatch call: all inputs the same, at most `capacity`.
#[doc(hidden)]
pub fn batch_len(lens: &[(&'static str, usize)], capacity: usize) -> Result<usize, crate::Error> {
    let (first, rows) = lens[0];
    for &(input, found) in lens {
        if found != rows {
            return Err(crate::Error::Length {
                input,
                expected: rows,
                found,
            });
        }
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
