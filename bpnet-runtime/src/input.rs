//! Run-time inputs whose width is checked when they are loaded into a state.

use crate::{Error, Float};
use ndarray::{ArrayBase, Data, Ix1};

/// Data that can be loaded into an input state whose width is only checked at run time:
/// slices, vectors, arrays and one-dimensional ndarray arrays or views (contiguous or not).
pub trait Input<F: Float> {
    /// The number of components.
    fn width(&self) -> usize;
    /// Copies the components into `dst`, which has exactly [`Input::width`] slots.
    fn write_into(&self, dst: &mut [F]);
    /// Copies the components `start..start + dst.len()` into `dst` (for sequences given as
    /// consecutive steps).
    fn write_range_into(&self, start: usize, dst: &mut [F]);
}

impl<F: Float> Input<F> for [F] {
    fn width(&self) -> usize {
        self.len()
    }
    fn write_into(&self, dst: &mut [F]) {
        dst.copy_from_slice(self);
    }
    fn write_range_into(&self, start: usize, dst: &mut [F]) {
        dst.copy_from_slice(&self[start..start + dst.len()]);
    }
}

impl<F: Float, const N: usize> Input<F> for [F; N] {
    fn width(&self) -> usize {
        N
    }
    fn write_into(&self, dst: &mut [F]) {
        dst.copy_from_slice(self);
    }
    fn write_range_into(&self, start: usize, dst: &mut [F]) {
        self[..].write_range_into(start, dst)
    }
}

impl<F: Float> Input<F> for Vec<F> {
    fn width(&self) -> usize {
        self.len()
    }
    fn write_into(&self, dst: &mut [F]) {
        dst.copy_from_slice(self);
    }
    fn write_range_into(&self, start: usize, dst: &mut [F]) {
        self[..].write_range_into(start, dst)
    }
}

impl<F: Float, S: Data<Elem = F>> Input<F> for ArrayBase<S, Ix1> {
    fn width(&self) -> usize {
        self.len()
    }
    fn write_into(&self, dst: &mut [F]) {
        for (d, s) in dst.iter_mut().zip(self.iter()) {
            *d = *s;
        }
    }
    fn write_range_into(&self, start: usize, dst: &mut [F]) {
        for (d, s) in dst.iter_mut().zip(self.iter().skip(start)) {
            *d = *s;
        }
    }
}

impl<F: Float, T: Input<F> + ?Sized> Input<F> for &T {
    fn width(&self) -> usize {
        (**self).width()
    }
    fn write_into(&self, dst: &mut [F]) {
        (**self).write_into(dst)
    }
    fn write_range_into(&self, start: usize, dst: &mut [F]) {
        (**self).write_range_into(start, dst)
    }
}

/// Loads `src` into `dst` after checking its width; rejects NaN and infinities.
///
/// On an error `dst` may hold part of the data; states are scratch space, so nothing saved is lost.
pub fn load<F: Float, I: Input<F> + ?Sized>(
    input: &'static str,
    src: &I,
    dst: &mut [F],
) -> Result<(), Error> {
    if src.width() != dst.len() {
        return Err(Error::Width {
            input,
            expected: dst.len(),
            found: src.width(),
        });
    }
    src.write_into(dst);
    match dst.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite { input, index }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, s};

    #[test]
    fn checks_width_and_finiteness() {
        let mut dst = [0.0f32; 3];
        assert_eq!(load("x", &[1.0f32, 2.0, 3.0][..], &mut dst), Ok(()));
        assert_eq!(dst, [1.0, 2.0, 3.0]);
        assert_eq!(
            load("x", &vec![1.0f32, 2.0], &mut dst),
            Err(Error::Width {
                input: "x",
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            load("x", &[1.0f32, f32::NAN, 0.0], &mut dst),
            Err(Error::NonFinite {
                input: "x",
                index: 1
            })
        );
        let a = Array1::from(vec![1.0f32, 9.0, 2.0, 9.0, 3.0, 9.0]);
        assert_eq!(load("x", &a.slice(s![..;2]), &mut dst), Ok(()));
        assert_eq!(dst, [1.0, 2.0, 3.0]);
    }
}
