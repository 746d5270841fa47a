//! Per-feature input normalisation, saved with the model.

use crate::ndarray::{Array2, ArrayBase, Data, DataMut, Ix2};

use super::{DataError, or_panic};
use crate::Float;

/// The prefix of the tensor names of [`Normalizer::tensors`] and [`Normalizer::from_tensors`].
const DEFAULT_PREFIX: &str = "normalize";

/// Per-feature normalisation `x ↦ (x − mean) / scale`, fitted on the training inputs.
///
/// [`Normalizer::fit`] takes each column's mean and standard deviation, so the training inputs
/// come out with mean 0 and standard deviation 1 in every column; a constant column keeps scale
/// 1 (it comes out as 0s, never as a division by zero). Apply the same normaliser to the test
/// inputs and to every input the trained network sees later: save it with the model through
/// [`Normalizer::tensors`] (named tensors `normalize.mean` and `normalize.scale`, to store beside
/// the parameters) and restore it with [`Normalizer::from_tensors`].
///
/// ```
/// use bpnet::data::Normalizer;
/// use bpnet::ndarray::array;
///
/// let mut train = array![[1.0f32, 10.0, 5.0], [3.0, 30.0, 5.0]];
/// let norm = Normalizer::fit(&train);
/// assert_eq!(norm.mean(), &[2.0, 20.0, 5.0]);
/// assert_eq!(norm.scale(), &[1.0, 10.0, 1.0]);   // the constant column: scale 1
/// norm.apply(&mut train);
/// assert_eq!(train, array![[-1.0, -1.0, 0.0], [1.0, 1.0, 0.0]]);
///
/// let mut x = [4.0f32, 20.0, 6.0];                // one new input, in place
/// norm.apply_row(&mut x);
/// assert_eq!(x, [2.0, 0.0, 1.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Normalizer<F = f32> {
    mean: Vec<F>,
    scale: Vec<F>,
}

impl<F: Float> Normalizer<F> {
    /// A normaliser with the given per-feature means and scales (divisors).
    ///
    /// Fails with [`DataError::Tensor`] if the lengths differ, a value is not finite or a scale
    /// is not positive.
    ///
    /// ```
    /// use bpnet::data::Normalizer;
    /// // Pixels 0..=16 to [-1, 1]:
    /// let norm = Normalizer::new(vec![8.0f32; 64], vec![8.0; 64]).unwrap();
    /// assert!(Normalizer::new(vec![0.0f32], vec![0.0]).is_err());
    /// # let _ = norm;
    /// ```
    pub fn new(mean: Vec<F>, scale: Vec<F>) -> Result<Self, DataError> {
        Self::checked(mean, scale, "mean", "scale")
    }

    fn checked(
        mean: Vec<F>,
        scale: Vec<F>,
        mean_name: &str,
        scale_name: &str,
    ) -> Result<Self, DataError> {
        let bad = |name: &str, problem: String| DataError::Tensor {
            name: name.to_string(),
            problem,
        };
        if mean.len() != scale.len() {
            return Err(bad(
                scale_name,
                format!(
                    "has {} values but `{mean_name}` has {}",
                    scale.len(),
                    mean.len()
                ),
            ));
        }
        if let Some(i) = mean.iter().position(|v| !v.is_finite()) {
            return Err(bad(mean_name, format!("value {i} is {}", mean[i])));
        }
        if let Some(i) = scale.iter().position(|&v| !(v.is_finite() && v > F::ZERO)) {
            return Err(bad(
                scale_name,
                format!("value {i} is {}, not a positive finite number", scale[i]),
            ));
        }
        Ok(Normalizer { mean, scale })
    }

    /// Fits each column's mean and standard deviation (over the rows: one row per sample).
    ///
    /// Statistics are computed in `f64`. A column whose values are all equal gets that value as
    /// its mean and scale 1; so does a column whose standard deviation is not a positive normal
    /// number. With no rows, every mean is 0 and every scale 1.
    pub fn fit<S: Data<Elem = F>>(data: &ArrayBase<S, Ix2>) -> Self {
        let n = data.nrows() as f64;
        // With no rows the width alone is unchecked by any allocation: grow as we go.
        let cap = if data.nrows() == 0 { 0 } else { data.ncols() };
        let mut mean = Vec::with_capacity(cap);
        let mut scale = Vec::with_capacity(cap);
        for column in data.columns() {
            let first = column.iter().next().map_or(0.0, |v| v.to_f64());
            if column.iter().all(|v| v.to_f64() == first) {
                mean.push(F::from_f64(first));
                scale.push(F::ONE);
                continue;
            }
            let m = column.iter().map(|v| v.to_f64()).sum::<f64>() / n;
            let var = column.iter().map(|v| (v.to_f64() - m).powi(2)).sum::<f64>() / n;
            let sd = F::from_f64(var.sqrt());
            mean.push(F::from_f64(m));
            scale.push(if sd.to_f64().is_normal() { sd } else { F::ONE });
        }
        Normalizer { mean, scale }
    }

    /// The number of features.
    pub fn width(&self) -> usize {
        self.mean.len()
    }

    /// The per-feature means.
    pub fn mean(&self) -> &[F] {
        &self.mean
    }

    /// The per-feature scales (the divisors).
    pub fn scale(&self) -> &[F] {
        &self.scale
    }

    /// Normalises every row of `data` in place.
    ///
    /// # Panics
    ///
    /// If `data` has not [`Normalizer::width`] columns ([`Normalizer::try_apply`] returns the
    /// error instead).
    #[track_caller]
    pub fn apply<S: DataMut<Elem = F>>(&self, data: &mut ArrayBase<S, Ix2>) {
        or_panic(self.try_apply(data));
    }

    /// Normalises every row of `data` in place as [`Normalizer::apply`], or returns
    /// [`DataError::Width`], leaving `data` as it was, if it has not [`Normalizer::width`]
    /// columns (data read from a file, say).
    ///
    /// ```
    /// use bpnet::data::{DataError, Normalizer};
    /// use bpnet::ndarray::array;
    ///
    /// let norm = Normalizer::fit(&array![[1.0f32, 10.0], [3.0, 30.0]]);
    /// let mut x = array![[2.0f32, 20.0]];
    /// norm.try_apply(&mut x)?;
    /// assert_eq!(x, array![[0.0, 0.0]]);
    /// let err = norm.try_apply(&mut array![[1.0f32, 2.0, 3.0]]).unwrap_err();
    /// assert!(matches!(err, DataError::Width { expected: 2, found: 3 }));
    /// # Ok::<(), DataError>(())
    /// ```
    pub fn try_apply<S: DataMut<Elem = F>>(
        &self,
        data: &mut ArrayBase<S, Ix2>,
    ) -> Result<(), DataError> {
        self.check_width(data.ncols())?;
        for mut row in data.rows_mut() {
            self.normalise(row.iter_mut());
        }
        Ok(())
    }

    /// A normalised copy of `data`.
    ///
    /// # Panics
    ///
    /// If `data` has not [`Normalizer::width`] columns ([`Normalizer::try_transform`] returns
    /// the error instead).
    #[track_caller]
    pub fn transform<S: Data<Elem = F>>(&self, data: &ArrayBase<S, Ix2>) -> Array2<F> {
        or_panic(self.try_transform(data))
    }

    /// A normalised copy of `data` as [`Normalizer::transform`], or [`DataError::Width`] if it
    /// has not [`Normalizer::width`] columns.
    pub fn try_transform<S: Data<Elem = F>>(
        &self,
        data: &ArrayBase<S, Ix2>,
    ) -> Result<Array2<F>, DataError> {
        self.check_width(data.ncols())?;
        let mut out = data.to_owned();
        self.try_apply(&mut out)?;
        Ok(out)
    }

    /// Normalises one sample in place.
    ///
    /// # Panics
    ///
    /// If `row` has not [`Normalizer::width`] values ([`Normalizer::try_apply_row`] returns the
    /// error instead).
    #[track_caller]
    pub fn apply_row(&self, row: &mut [F]) {
        or_panic(self.try_apply_row(row));
    }

    /// Normalises one sample in place as [`Normalizer::apply_row`], or returns
    /// [`DataError::Width`], leaving `row` as it was, if it has not [`Normalizer::width`] values.
    pub fn try_apply_row(&self, row: &mut [F]) -> Result<(), DataError> {
        self.check_width(row.len())?;
        self.normalise(row.iter_mut());
        Ok(())
    }

    /// Undoes the normalisation of every row of `data` in place: `x ↦ x × scale + mean` (to
    /// read a network's outputs when the normaliser was fitted on targets).
    ///
    /// # Panics
    ///
    /// If `data` has not [`Normalizer::width`] columns ([`Normalizer::try_invert`] returns the
    /// error instead).
    #[track_caller]
    pub fn invert<S: DataMut<Elem = F>>(&self, data: &mut ArrayBase<S, Ix2>) {
        or_panic(self.try_invert(data));
    }

    /// Undoes the normalisation of every row of `data` in place as [`Normalizer::invert`], or
    /// returns [`DataError::Width`], leaving `data` as it was, if it has not
    /// [`Normalizer::width`] columns.
    pub fn try_invert<S: DataMut<Elem = F>>(
        &self,
        data: &mut ArrayBase<S, Ix2>,
    ) -> Result<(), DataError> {
        self.check_width(data.ncols())?;
        for mut row in data.rows_mut() {
            self.denormalise(row.iter_mut());
        }
        Ok(())
    }

    /// Undoes the normalisation of one sample in place.
    ///
    /// # Panics
    ///
    /// If `row` has not [`Normalizer::width`] values ([`Normalizer::try_invert_row`] returns
    /// the error instead).
    #[track_caller]
    pub fn invert_row(&self, row: &mut [F]) {
        or_panic(self.try_invert_row(row));
    }

    /// Undoes the normalisation of one sample in place as [`Normalizer::invert_row`], or returns
    /// [`DataError::Width`], leaving `row` as it was, if it has not [`Normalizer::width`]
    /// values.
    pub fn try_invert_row(&self, row: &mut [F]) -> Result<(), DataError> {
        self.check_width(row.len())?;
        self.denormalise(row.iter_mut());
        Ok(())
    }

    /// `x ↦ (x − mean) / scale` for the values of one row.
    fn normalise<'a>(&self, row: impl Iterator<Item = &'a mut F>)
    where
        F: 'a,
    {
        for ((x, &m), &s) in row.zip(&self.mean).zip(&self.scale) {
            *x = (*x - m) / s;
        }
    }

    /// `x ↦ x × scale + mean` for the values of one row.
    fn denormalise<'a>(&self, row: impl Iterator<Item = &'a mut F>)
    where
        F: 'a,
    {
        for ((x, &m), &s) in row.zip(&self.mean).zip(&self.scale) {
            *x = *x * s + m;
        }
    }

    /// [`DataError::Width`] unless `width` is the normaliser's.
    fn check_width(&self, width: usize) -> Result<(), DataError> {
        if width == self.width() {
            return Ok(());
        }
        Err(DataError::Width {
            expected: self.width(),
            found: width,
        })
    }

    /// The mean and scale as named tensors, to be saved beside the parameters:
    /// `("normalize.mean", mean)` and `("normalize.scale", scale)`.
    pub fn tensors(&self) -> Vec<(String, Vec<F>)> {
        self.tensors_with_prefix(DEFAULT_PREFIX)
    }

    /// The mean and scale as tensors named `"{prefix}.mean"` and `"{prefix}.scale"` (for a
    /// second normaliser in the same file, of the targets say).
    pub fn tensors_with_prefix(&self, prefix: &str) -> Vec<(String, Vec<F>)> {
        vec![
            (format!("{prefix}.mean"), self.mean.clone()),
            (format!("{prefix}.scale"), self.scale.clone()),
        ]
    }

    /// The normaliser saved by [`Normalizer::tensors`], found by name among `tensors` (other
    /// tensors, the parameters say, are ignored).
    ///
    /// Fails with [`DataError::Tensor`] if a tensor is missing or given twice, the lengths
    /// differ, a value is not finite or a scale is not positive.
    ///
    /// ```
    /// use bpnet::data::Normalizer;
    /// use bpnet::ndarray::array;
    ///
    /// let norm = Normalizer::fit(&array![[0.0f32, 1.0], [2.0, 5.0]]);
    /// let mut saved = vec![("linear1.W".to_string(), vec![0.5f32; 4])];
    /// saved.extend(norm.tensors());
    /// assert_eq!(Normalizer::from_tensors(&saved).unwrap(), norm);
    /// assert!(Normalizer::<f32>::from_tensors(&saved[..2]).is_err()); // no scale
    /// ```
    pub fn from_tensors<N: AsRef<str>, V: AsRef<[F]>>(
        tensors: &[(N, V)],
    ) -> Result<Self, DataError> {
        Self::from_tensors_with_prefix(DEFAULT_PREFIX, tensors)
    }

    /// The normaliser saved by [`Normalizer::tensors_with_prefix`] with this prefix.
    pub fn from_tensors_with_prefix<N: AsRef<str>, V: AsRef<[F]>>(
        prefix: &str,
        tensors: &[(N, V)],
    ) -> Result<Self, DataError> {
        let find = |name: &str| -> Result<Vec<F>, DataError> {
            let mut found = tensors.iter().filter(|(n, _)| n.as_ref() == name);
            match (found.next(), found.next()) {
                (Some((_, v)), None) => Ok(v.as_ref().to_vec()),
                (None, _) => Err(DataError::Tensor {
                    name: name.to_string(),
                    problem: "missing".to_string(),
                }),
                (Some(_), Some(_)) => Err(DataError::Tensor {
                    name: name.to_string(),
                    problem: "given more than once".to_string(),
                }),
            }
        };
        let (mean_name, scale_name) = (format!("{prefix}.mean"), format!("{prefix}.scale"));
        Self::checked(
            find(&mean_name)?,
            find(&scale_name)?,
            &mean_name,
            &scale_name,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndarray::array;

    #[test]
    fn constant_columns_keep_scale_one_even_when_the_mean_rounds() {
        // 0.1 three times: the mean computed as a sum / 3 is not exactly 0.1, and an ulp of
        // "deviation" must not be blown up into ±1.
        let mut data = array![[0.1f64, 1.0], [0.1, 2.0], [0.1, 4.0]];
        let norm = Normalizer::fit(&data);
        assert_eq!(norm.scale()[0], 1.0);
        assert_eq!(norm.mean()[0], 0.1);
        norm.apply(&mut data);
        assert_eq!(data.column(0).to_vec(), [0.0, 0.0, 0.0]);
    }

    #[test]
    fn invert_undoes_apply() {
        let data = array![[1.0f64, -7.0], [2.5, 3.0], [4.0, 11.0]];
        let norm = Normalizer::fit(&data);
        let mut t = norm.transform(&data);
        norm.invert(&mut t);
        for (a, b) in t.iter().zip(data.iter()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        let mut row = [2.5, 3.0];
        norm.apply_row(&mut row);
        norm.invert_row(&mut row);
        assert!((row[0] - 2.5f64).abs() < 1e-12 && (row[1] - 3.0).abs() < 1e-12);
    }

    #[test]
    fn no_rows_is_the_identity() {
        let norm = Normalizer::<f32>::fit(&Array2::zeros((0, 3)));
        assert_eq!((norm.mean(), norm.scale()), (&[0.0; 3][..], &[1.0; 3][..]));
    }

    fn fitted() -> Normalizer<f64> {
        Normalizer::fit(&array![[1.0, 10.0], [3.0, 30.0]])
    }

    /// `result` is [`DataError::Width`] for a normaliser of 2 features and data of `found`.
    #[track_caller]
    fn wrong_width<T: core::fmt::Debug>(result: Result<T, DataError>, found: usize) {
        let err = result.unwrap_err();
        assert!(
            matches!(err, DataError::Width { expected: 2, found: f } if f == found),
            "{err:?}"
        );
        let message = format!("the normaliser was fitted on 2 features, the data has {found}");
        assert_eq!(err.to_string(), message);
        assert!(err.path().is_none());
    }

    #[test]
    fn try_apply_checks_the_width() {
        for cols in [0, 1, 3] {
            let mut data = Array2::from_elem((2, cols), 5.0);
            wrong_width(fitted().try_apply(&mut data), cols);
            assert!(data.iter().all(|&v| v == 5.0), "left as it was");
        }
        let (mut a, mut b) = (
            array![[2.0, 0.0], [4.0, 40.0]],
            array![[2.0, 0.0], [4.0, 40.0]],
        );
        fitted().try_apply(&mut a).unwrap();
        fitted().apply(&mut b);
        assert_eq!(a, b);
        assert_eq!(a, array![[0.0, -2.0], [2.0, 2.0]]);
    }

    #[test]
    fn try_transform_checks_the_width() {
        wrong_width(fitted().try_transform(&array![[1.0]]), 1);
        let data = array![[2.0, 0.0], [4.0, 40.0]];
        assert_eq!(
            fitted().try_transform(&data).unwrap(),
            fitted().transform(&data)
        );
    }

    #[test]
    fn try_apply_row_checks_the_width() {
        let mut row = [1.0, 2.0, 3.0];
        wrong_width(fitted().try_apply_row(&mut row), 3);
        assert_eq!(row, [1.0, 2.0, 3.0], "left as it was");
        let (mut a, mut b) = ([4.0, 40.0], [4.0, 40.0]);
        fitted().try_apply_row(&mut a).unwrap();
        fitted().apply_row(&mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn try_invert_checks_the_width() {
        let mut data = array![[1.0, 2.0, 3.0]];
        wrong_width(fitted().try_invert(&mut data), 3);
        assert_eq!(data, array![[1.0, 2.0, 3.0]], "left as it was");
        let (mut a, mut b) = (array![[0.5, -1.0]], array![[0.5, -1.0]]);
        fitted().try_invert(&mut a).unwrap();
        fitted().invert(&mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn try_invert_row_checks_the_width() {
        let mut row = [1.0];
        wrong_width(fitted().try_invert_row(&mut row), 1);
        assert_eq!(row, [1.0], "left as it was");
        let (mut a, mut b) = ([0.5, -1.0], [0.5, -1.0]);
        fitted().try_invert_row(&mut a).unwrap();
        fitted().invert_row(&mut b);
        assert_eq!(a, b);
    }

    #[test]
    #[should_panic(expected = "fitted on 2 features, the data has 3")]
    fn width_is_checked() {
        Normalizer::fit(&array![[1.0f32, 2.0]]).apply_row(&mut [1.0, 2.0, 3.0]);
    }
}
