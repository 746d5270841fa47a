//! The vector a network's pools live in: parameters, gradients, curvature.

use crate::Float;
use core::ops::{Deref, DerefMut};

/// Values a pool's buffer holds beyond its length, so that it can start on a 64-byte boundary
/// (at most 15 `f32` or 7 `f64` skipped).
const SLACK: usize = 16;

/// `len` values of `F` whose first one is on a 64-byte boundary (a cache line), read and
/// written as a slice.
///
/// Why: a small network's step is a chain of dependent operations through its weights, which
/// are stored at the end of one step and loaded at the start of the next. In a `Vec`, where the
/// allocator puts the pool decides whether a vector load of a module's weights straddles two
/// cache lines, or two pages: XOR 2-8-1's fused step took 67 ns in one process and 81 ns in
/// another that differed only by one earlier allocation, its first weights then across a 4 KiB
/// boundary. From a cache line, the same network's modules sit at the same offsets in every run.
///
/// ```
/// let mut p = bpnet_runtime::AlignedVec::<f32>::zeroed(5);
/// p[2] = 1.5;
/// assert_eq!(&p[..], &[0.0, 0.0, 1.5, 0.0, 0.0]);
/// assert_eq!(p.as_ptr() as usize % 64, 0);
/// ```
#[derive(Default)]
pub struct AlignedVec<F> {
    buf: Vec<F>,
    /// Where the values start in `buf`.
    start: usize,
    len: usize,
}

impl<F: Float> AlignedVec<F> {
    /// `len` zeros. Allocates `len` plus at most 16 values, once.
    pub fn zeroed(len: usize) -> Self {
        if len == 0 {
            return Self::default();
        }
        let buf = vec![F::ZERO; len + SLACK];
        // An offset beyond the slack (never, for `f32` and `f64`) leaves the values where the
        // allocator put them: correct, only not aligned.
        let start = Some(buf.as_ptr().align_offset(64))
            .filter(|&s| s <= SLACK)
            .unwrap_or(0);
        Self { buf, start, len }
    }
}

impl<F> Deref for AlignedVec<F> {
    type Target = [F];
    #[inline(always)]
    fn deref(&self) -> &[F] {
        &self.buf[self.start..self.start + self.len]
    }
}

impl<F> DerefMut for AlignedVec<F> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [F] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

/// A copy aligned as the original (its own allocation, its own offset).
impl<F: Float> Clone for AlignedVec<F> {
    fn clone(&self) -> Self {
        let mut copy = Self::zeroed(self.len);
        copy.copy_from_slice(self);
        copy
    }
}

impl<F: core::fmt::Debug> core::fmt::Debug for AlignedVec<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::AlignedVec;

    /// Every length starts on a cache line, copies too, and holds what was written.
    #[test]
    fn starts_on_a_cache_line() {
        for len in [1, 2, 15, 16, 17, 33, 1000] {
            let mut a = AlignedVec::<f32>::zeroed(len);
            let b = AlignedVec::<f64>::zeroed(len);
            assert_eq!((a.len(), b.len()), (len, len));
            assert_eq!(a.as_ptr() as usize % 64, 0, "f32, {len}");
            assert_eq!(b.as_ptr() as usize % 64, 0, "f64, {len}");
            a[len - 1] = 3.0;
            let c = a.clone();
            assert_eq!(c.as_ptr() as usize % 64, 0);
            assert_eq!(&c[..], &a[..]);
        }
        let empty = AlignedVec::<f32>::zeroed(0);
        assert!(empty.is_empty());
        assert!(AlignedVec::<f32>::default().is_empty());
    }
}
