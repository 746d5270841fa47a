//! Data sets: IDX (MNIST) and CSV files into [`ndarray`](crate::ndarray) arrays, the shipped
//! handwritten digits, seeded train/test splits, and input normalisation that is saved with the
//! model.
//!
//! - [`read_idx`] / [`read_idx_as`] / [`write_idx`]: IDX files, the format of LeCun's MNIST
//!   distribution, gzip'd or raw; [`load_mnist`] pairs an images file with a labels file into a
//!   [`Dataset`] of 10 classes ([`load_mnist_classes`] for EMNIST and others with more).
//! - [`read_csv`]: CSV files of numbers, gzip'd or raw, with an optional header and label column.
//! - [`digits`]: 1797 handwritten digits of 8×8 pixels (UCI, CC BY 4.0), built into the library;
//!   [`load_digits`] reads a file of the same layout.
//! - [`Dataset::split`] / [`split_indices`]: a stratified split that depends only on the seed.
//! - [`Normalizer`]: per-feature mean and scale, fitted on the training inputs, exported as named
//!   tensors ([`Normalizer::tensors`]) to be saved beside the parameters.
//!
//! Files are told to be gzip'd by their first two bytes (`1f 8b`), not by their names. A file's
//! contents never make these functions panic: every problem is a [`DataError`] naming the file
//! and what is wrong (and for CSV, the line and column).
//!
//! ```
//! use bpnet::data::{Normalizer, Targets, digits};
//!
//! let data = digits();                              // 1797 × 64 pixels in 0..=16, labels 0..=9
//! let (mut train, mut test) = data.split(0.25, 7);  // stratified, seeded
//! let norm = Normalizer::fit(&train.inputs);        // fitted on the training inputs only
//! norm.apply(&mut train.inputs);
//! norm.apply(&mut test.inputs);
//! let targets = train.targets(Targets::PlusMinusOne); // one row of ±1 per sample
//! assert_eq!(targets.shape(), &[train.len(), 10]);
//! assert_eq!(train.len() + test.len(), 1797);
//! let saved = norm.tensors();                       // ("normalize.mean", …), ("normalize.scale", …)
//! assert_eq!(Normalizer::from_tensors(&saved).unwrap(), norm);
//! ```

mod digits;
mod error;
mod idx;
mod mnist;
mod normalize;
mod split;
mod table;

pub use digits::{DIGITS_CLASSES, DIGITS_PIXELS, digits, load_digits};
pub use error::DataError;
pub use idx::{IdxData, IdxElement, IdxType, read_idx, read_idx_as, write_idx};
pub use mnist::{PixelScale, load_mnist, load_mnist_classes};
pub use normalize::Normalizer;
pub use split::{split_indices, try_split_indices};
pub use table::{Column, CsvData, CsvOptions, read_csv, read_csv_from};

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::ndarray::{Array2, ArrayBase, Axis, Data, Ix2};
use flate2::read::MultiGzDecoder;

use crate::Float;

/// The first two bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Samples for classification: one row of inputs per sample and its class.
///
/// The fields are public so that inputs can be normalised in place and rows read directly
/// (`data.inputs.row(i)` is an [`Input`](crate::Input) for `try_fprop`). Keep
/// `inputs.nrows() == labels.len()` and every label below `classes`: the methods panic otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<F = f32> {
    /// One row per sample.
    pub inputs: Array2<F>,
    /// The class of each sample, in `0..classes`.
    pub labels: Vec<usize>,
    /// The number of classes.
    pub classes: usize,
}

/// One sample as `fprop` and the [`Trainer`](crate::train::Trainer) take it: its input row and
/// its target row (see [`Dataset::pairs`]).
pub type Pair<F, const N: usize, const K: usize> = ([F; N], [F; K]);

/// How [`Dataset::targets`] and [`encode_labels`] turn a class into a target row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Targets {
    /// 1 for the sample's class, 0 elsewhere.
    OneHot,
    /// +1 for the sample's class, −1 elsewhere: for tanh outputs (LeCun's scaled tanh
    /// `1.7159 tanh(2x/3)` reaches ±1 in its linear range).
    PlusMinusOne,
    /// `on` for the sample's class, `off` elsewhere.
    Custom {
        /// The value for the sample's class.
        on: f64,
        /// The value for the other classes.
        off: f64,
    },
}

impl Targets {
    fn values(self) -> (f64, f64) {
        match self {
            Targets::OneHot => (1.0, 0.0),
            Targets::PlusMinusOne => (1.0, -1.0),
            Targets::Custom { on, off } => (on, off),
        }
    }
}

/// One target row per label: `classes` columns, `on` in the label's column and `off` elsewhere.
///
/// # Panics
///
/// If a label is `classes` or more ([`try_encode_labels`] returns the error instead).
///
/// ```
/// use bpnet::data::{Targets, encode_labels};
/// use bpnet::ndarray::array;
///
/// let t = encode_labels::<f32>(&[2, 0], 3, Targets::PlusMinusOne);
/// assert_eq!(t, array![[-1.0, -1.0, 1.0], [1.0, -1.0, -1.0]]);
/// ```
#[track_caller]
pub fn encode_labels<F: Float>(labels: &[usize], classes: usize, targets: Targets) -> Array2<F> {
    or_panic(try_encode_labels(labels, classes, targets))
}

/// One target row per label, as [`encode_labels`], or [`DataError::LabelOutOfRange`] for the
/// first label that is `classes` or more (labels read from a file, say).
///
/// ```
/// use bpnet::data::{DataError, Targets, try_encode_labels};
///
/// let t = try_encode_labels::<f32>(&[1, 0], 2, Targets::OneHot)?;
/// assert_eq!(t.row(0).to_vec(), [0.0, 1.0]);
/// let err = try_encode_labels::<f32>(&[1, 2], 2, Targets::OneHot).unwrap_err();
/// assert!(matches!(err, DataError::LabelOutOfRange { sample: 1, label: 2, classes: 2 }));
/// # Ok::<(), DataError>(())
/// ```
pub fn try_encode_labels<F: Float>(
    labels: &[usize],
    classes: usize,
    targets: Targets,
) -> Result<Array2<F>, DataError> {
    check_labels(labels, classes)?;
    let (on, off) = targets.values();
    let mut out = Array2::from_elem((labels.len(), classes), F::from_f64(off));
    for (i, &label) in labels.iter().enumerate() {
        out[[i, label]] = F::from_f64(on);
    }
    Ok(out)
}

/// [`DataError::RowCount`] unless there are as many rows of inputs as labels.
fn check_rows(rows: usize, labels: usize) -> Result<(), DataError> {
    if rows == labels {
        return Ok(());
    }
    Err(DataError::RowCount { rows, labels })
}

/// The value, or a panic with the error's message (for the panicking forms of the `try_` ones).
#[track_caller]
fn or_panic<T>(result: Result<T, DataError>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// [`DataError::LabelOutOfRange`] for the first label that is `classes` or more.
fn check_labels(labels: &[usize], classes: usize) -> Result<(), DataError> {
    match labels.iter().position(|&l| l >= classes) {
        Some(sample) => Err(DataError::LabelOutOfRange {
            sample,
            label: labels[sample],
            classes,
        }),
        None => Ok(()),
    }
}

/// The rows of a standard-layout two-dimensional array as fixed-size arrays, the form
/// `fprop_batch` and `run_batch` take; `None` if the array has not `N` columns (or `N` is 0) or
/// is not in standard layout (use `as_standard_layout()` first).
///
/// ```
/// use bpnet::data::as_rows;
/// use bpnet::ndarray::array;
///
/// let xs = array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]];
/// let rows: &[[f32; 2]] = as_rows(&xs).unwrap();
/// assert_eq!(rows, &[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
/// assert!(as_rows::<f32, _, 3>(&xs).is_none());
/// ```
pub fn as_rows<F, S, const N: usize>(array: &ArrayBase<S, Ix2>) -> Option<&[[F; N]]>
where
    S: Data<Elem = F>,
{
    if N == 0 || array.ncols() != N {
        return None;
    }
    let (rows, rest) = array.as_slice()?.as_chunks::<N>();
    rest.is_empty().then_some(rows)
}

impl<F: Float> Dataset<F> {
    /// A data set from its parts.
    ///
    /// # Panics
    ///
    /// If `inputs` has not one row per label, or a label is `classes` or more
    /// ([`Dataset::try_new`] returns the error instead).
    #[track_caller]
    pub fn new(inputs: Array2<F>, labels: Vec<usize>, classes: usize) -> Self {
        or_panic(Self::try_new(inputs, labels, classes))
    }

    /// A data set from its parts, or [`DataError::RowCount`] if `inputs` has not one row per
    /// label, [`DataError::LabelOutOfRange`] if a label is `classes` or more.
    ///
    /// ```
    /// use bpnet::data::{DataError, Dataset};
    /// use bpnet::ndarray::array;
    ///
    /// let data = Dataset::try_new(array![[0.5f32], [1.5]], vec![0, 1], 2)?;
    /// assert_eq!(data.len(), 2);
    /// let err = Dataset::try_new(array![[0.5f32], [1.5]], vec![0, 2], 2).unwrap_err();
    /// assert!(matches!(err, DataError::LabelOutOfRange { sample: 1, .. }));
    /// # Ok::<(), DataError>(())
    /// ```
    pub fn try_new(
        inputs: Array2<F>,
        labels: Vec<usize>,
        classes: usize,
    ) -> Result<Self, DataError> {
        check_rows(inputs.nrows(), labels.len())?;
        check_labels(&labels, classes)?;
        Ok(Dataset {
            inputs,
            labels,
            classes,
        })
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// `true` if there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The number of inputs per sample (the columns of `inputs`).
    pub fn width(&self) -> usize {
        self.inputs.ncols()
    }

    /// The number of samples of each class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            counts[l] += 1;
        }
        counts
    }

    /// One target row per sample (see [`encode_labels`]).
    pub fn targets(&self, targets: Targets) -> Array2<F> {
        encode_labels(&self.labels, self.classes, targets)
    }

    /// The samples as `(input, target)` pairs of fixed-size rows, the samples
    /// [`Trainer`](crate::train::Trainer) and `fprop` take: `N` inputs (the data set's width)
    /// and `K` target values (one per class, as [`Dataset::targets`] makes them).
    ///
    /// # Errors
    ///
    /// [`DataError::Columns`] if `N` is not the data set's width or `K` its number of classes,
    /// [`DataError::RowCount`] or [`DataError::LabelOutOfRange`] if the public fields were left
    /// inconsistent.
    ///
    /// ```
    /// use bpnet::data::{DataError, Dataset, Targets};
    /// use bpnet::ndarray::Array2;
    ///
    /// let features: Vec<[f32; 2]> = vec![[0.5, 1.0], [2.0, -1.0]];
    /// let data = Dataset::try_new(Array2::from(features), vec![2, 0], 3)?;
    /// let pairs = data.pairs::<2, 3>(Targets::OneHot)?;
    /// assert_eq!(pairs[0], ([0.5, 1.0], [0.0, 0.0, 1.0]));
    /// let err = data.pairs::<2, 2>(Targets::OneHot).unwrap_err();
    /// assert!(matches!(err, DataError::Columns { part: "targets", expected: 2, found: 3 }));
    /// # Ok::<(), DataError>(())
    /// ```
    pub fn pairs<const N: usize, const K: usize>(
        &self,
        targets: Targets,
    ) -> Result<Vec<Pair<F, N, K>>, DataError> {
        check_rows(self.inputs.nrows(), self.labels.len())?;
        check_labels(&self.labels, self.classes)?;
        let columns = |part, expected, found| DataError::Columns {
            part,
            expected,
            found,
        };
        if self.width() != N {
            return Err(columns("inputs", N, self.width()));
        }
        if self.classes != K {
            return Err(columns("targets", K, self.classes));
        }
        let (on, off) = targets.values();
        let (on, off) = (F::from_f64(on), F::from_f64(off));
        let pairs = self.inputs.rows().into_iter().zip(&self.labels);
        Ok(pairs
            .map(|(row, &label)| {
                let x = std::array::from_fn(|i| row[i]);
                let y = std::array::from_fn(|j| if j == label { on } else { off });
                (x, y)
            })
            .collect())
    }

    /// The samples at `indices`, in that order.
    ///
    /// # Panics
    ///
    /// If an index is out of bounds ([`Dataset::try_select`] returns the error instead).
    #[track_caller]
    pub fn select(&self, indices: &[usize]) -> Dataset<F> {
        or_panic(self.try_select(indices))
    }

    /// The samples at `indices` as [`Dataset::select`], or [`DataError::IndexOutOfRange`] for
    /// the first index that is not below [`Dataset::len`] (indices read from a file, say), and
    /// [`DataError::RowCount`] if the public fields were left without one row of inputs per
    /// label.
    ///
    /// ```
    /// use bpnet::data::{DataError, Dataset};
    /// use bpnet::ndarray::array;
    ///
    /// let data = Dataset::new(array![[0.5f32], [1.5], [2.5]], vec![0, 1, 0], 2);
    /// assert_eq!(data.try_select(&[2, 0])?.labels, [0, 0]);
    /// let err = data.try_select(&[1, 3]).unwrap_err();
    /// assert!(matches!(err, DataError::IndexOutOfRange { index: 3, len: 3 }));
    /// # Ok::<(), DataError>(())
    /// ```
    pub fn try_select(&self, indices: &[usize]) -> Result<Dataset<F>, DataError> {
        check_rows(self.inputs.nrows(), self.labels.len())?;
        let len = self.len();
        if let Some(&index) = indices.iter().find(|&&i| i >= len) {
            return Err(DataError::IndexOutOfRange { index, len });
        }
        Ok(Dataset {
            inputs: self.inputs.select(Axis(0), indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes,
        })
    }

    /// Splits into `(train, test)` with [`split_indices`]: stratified by class, the test part
    /// holding `test_fraction` of the samples (rounded to nearest), each part in the original
    /// order. The same seed gives the same split, with any version of `rand`.
    ///
    /// # Panics
    ///
    /// If `test_fraction` is not in `[0, 1]` ([`Dataset::try_split`] returns the error instead).
    #[track_caller]
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Dataset<F>, Dataset<F>) {
        or_panic(self.try_split(test_fraction, seed))
    }

    /// Splits into `(train, test)` as [`Dataset::split`], or [`DataError::BadFraction`] if
    /// `test_fraction` is not in `[0, 1]` (NaN included), [`DataError::RowCount`] if the public
    /// fields were left without one row of inputs per label.
    pub fn try_split(
        &self,
        test_fraction: f64,
        seed: u64,
    ) -> Result<(Dataset<F>, Dataset<F>), DataError> {
        let (train, test) = try_split_indices(&self.labels, test_fraction, seed)?;
        Ok((self.try_select(&train)?, self.try_select(&test)?))
    }

    /// The same data set with `f32` or `f64` inputs.
    pub fn cast<G: Float>(&self) -> Dataset<G> {
        Dataset {
            inputs: self.inputs.mapv(|v| G::from_f64(v.to_f64())),
            labels: self.labels.clone(),
            classes: self.classes,
        }
    }
}

/// Opens `path`, decompressing it on the fly if it starts with the gzip magic bytes.
pub(crate) fn open_maybe_gzip(path: &Path) -> Result<(Box<dyn Read>, bool), DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    maybe_gzip(file).map_err(|e| DataError::io(path, e))
}

/// `reader`, decompressed on the fly if it starts with the gzip magic bytes; `true` if it does.
pub(crate) fn maybe_gzip<'r, R: Read + 'r>(
    mut reader: R,
) -> io::Result<(Box<dyn Read + 'r>, bool)> {
    let mut head = Vec::with_capacity(2);
    (&mut reader).take(2).read_to_end(&mut head)?;
    let gzip = head == GZIP_MAGIC;
    let whole = io::Cursor::new(head).chain(reader);
    Ok(if gzip {
        (Box::new(MultiGzDecoder::new(whole)), true)
    } else {
        (Box::new(whole), false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndarray::array;

    #[test]
    fn targets_put_on_in_the_label_column() {
        let t = encode_labels::<f64>(&[1, 0, 1], 2, Targets::Custom { on: 0.9, off: 0.1 });
        assert_eq!(t, array![[0.1, 0.9], [0.9, 0.1], [0.1, 0.9]]);
        let d = Dataset::new(array![[1.0f32], [2.0]], vec![0, 2], 3);
        assert_eq!(
            d.targets(Targets::OneHot),
            array![[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
        );
        assert_eq!(d.class_counts(), [1, 0, 1]);
    }

    /// `pairs` gives each sample's input row and the same target row as `targets`, and refuses
    /// widths that are not the data set's.
    #[test]
    fn pairs_are_the_rows_and_the_targets() {
        let inputs = array![[1.0f64, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let d = Dataset::new(
            inputs.t().as_standard_layout().t().to_owned(),
            vec![1, 0, 1],
            2,
        );
        let targets = Targets::Custom { on: 0.9, off: -0.3 };
        let pairs = d.pairs::<2, 2>(targets).unwrap();
        let t = d.targets(targets);
        assert_eq!(pairs.len(), 3);
        for (i, (x, y)) in pairs.iter().enumerate() {
            assert_eq!(x[..], d.inputs.row(i).to_vec()[..]);
            assert_eq!(y[..], t.row(i).to_vec()[..]);
        }
        let err = d.pairs::<3, 2>(targets).unwrap_err();
        assert!(matches!(
            err,
            DataError::Columns {
                part: "inputs",
                expected: 3,
                found: 2
            }
        ));
        assert!(err.to_string().contains("`input x: 2`"), "{err}");
        let err = d.pairs::<2, 4>(targets).unwrap_err();
        assert!(matches!(
            err,
            DataError::Columns {
                part: "targets",
                expected: 4,
                found: 2
            }
        ));
        assert!(err.to_string().contains("`target y: 2`"), "{err}");
        let mut broken = d.clone();
        broken.labels[2] = 7; // the public fields edited: an error, not a panic
        let err = broken.pairs::<2, 2>(targets).unwrap_err();
        assert!(matches!(err, DataError::LabelOutOfRange { sample: 2, .. }));
    }

    #[test]
    #[should_panic(expected = "label 3 of sample 1")]
    fn labels_must_be_below_classes() {
        Dataset::new(array![[1.0f32], [2.0]], vec![0, 3], 3);
    }

    /// Labels out of range, or not one per row, are errors from the `try_` forms.
    #[test]
    fn labels_out_of_range_are_errors() {
        let err = try_encode_labels::<f32>(&[0, 5, 9], 3, Targets::OneHot).unwrap_err();
        assert!(matches!(
            err,
            DataError::LabelOutOfRange {
                sample: 1,
                label: 5,
                classes: 3
            }
        ));
        assert_eq!(
            err.to_string(),
            "label 5 of sample 1 is not below the 3 classes"
        );
        assert!(err.path().is_none());
        // No classes: every label is out of range, none is not.
        assert!(try_encode_labels::<f32>(&[0], 0, Targets::OneHot).is_err());
        assert_eq!(
            try_encode_labels::<f32>(&[], 0, Targets::OneHot)
                .unwrap()
                .shape(),
            [0, 0]
        );
        let err = Dataset::try_new(array![[1.0f32], [2.0]], vec![0, 3], 3).unwrap_err();
        assert!(matches!(err, DataError::LabelOutOfRange { sample: 1, .. }));
        let err = Dataset::try_new(array![[1.0f32], [2.0]], vec![0], 3).unwrap_err();
        assert!(matches!(err, DataError::RowCount { rows: 2, labels: 1 }));
        let d = Dataset::try_new(array![[1.0f32], [2.0]], vec![0, 2], 3).unwrap();
        assert_eq!(d.labels, [0, 2]);
        for fraction in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert!(
                matches!(d.try_split(fraction, 0), Err(DataError::BadFraction { .. })),
                "{fraction}"
            );
        }
        let (train, test) = d.try_split(0.5, 0).unwrap();
        assert_eq!(train.len() + test.len(), 2);
    }

    #[test]
    fn try_select_refuses_an_index_out_of_range() {
        let d = Dataset::new(array![[1.0f32], [2.0], [3.0]], vec![0, 1, 2], 3);
        for indices in [&[3][..], &[0, 2, 7], &[usize::MAX]] {
            let err = d.try_select(indices).unwrap_err();
            let index = *indices.last().unwrap();
            assert!(
                matches!(err, DataError::IndexOutOfRange { index: i, len: 3 } if i == index),
                "{err:?}"
            );
            let expected = format!("sample index {index} is out of range: the data set has 3");
            assert!(err.to_string().starts_with(&expected), "{err}");
            assert!(err.path().is_none());
        }
        assert_eq!(d.try_select(&[2, 0, 2]).unwrap(), d.select(&[2, 0, 2]));
        assert_eq!(d.try_select(&[]).unwrap(), d.select(&[]));
        let mut broken = d.clone();
        broken.labels.push(0); // the public fields out of step: an error, not a panic
        let err = broken.try_select(&[3]).unwrap_err();
        assert!(
            matches!(err, DataError::RowCount { rows: 3, labels: 4 }),
            "{err:?}"
        );
        assert!(matches!(
            broken.try_split(0.5, 1),
            Err(DataError::RowCount { .. })
        ));
    }

    #[test]
    #[should_panic(expected = "sample index 5 is out of range: the data set has 2 samples")]
    fn select_panics_with_the_message() {
        Dataset::new(array![[1.0f32], [2.0]], vec![0, 1], 2).select(&[5]);
    }

    #[test]
    #[should_panic(expected = "label 4 of sample 0")]
    fn encode_labels_panics_with_the_message() {
        encode_labels::<f32>(&[4], 3, Targets::OneHot);
    }

    #[test]
    fn as_rows_needs_standard_layout() {
        let xs = array![[1.0f32, 2.0], [3.0, 4.0]];
        assert!(as_rows::<f32, _, 2>(&xs.t()).is_none());
        assert_eq!(
            as_rows::<f32, _, 2>(&xs.t().as_standard_layout()),
            Some(&[[1.0, 3.0], [2.0, 4.0]][..])
        );
    }

    #[test]
    fn gzip_is_told_by_its_magic_bytes() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"1,2\n").unwrap();
        let gz = enc.finish().unwrap();
        let mut out = String::new();
        let (mut r, gzip) = maybe_gzip(&gz[..]).unwrap();
        r.read_to_string(&mut out).unwrap();
        assert!(gzip);
        assert_eq!(out, "1,2\n");
        for raw in [&b"1,2\n"[..], b"\x1f", b""] {
            let mut out = Vec::new();
            let (mut r, gzip) = maybe_gzip(raw).unwrap();
            r.read_to_end(&mut out).unwrap();
            assert!(!gzip);
            assert_eq!(out, raw);
        }
    }
}
