//! The handwritten digits shipped with bpnet.

use std::io::Read;
use std::path::Path;

use super::{Column, CsvOptions, DataError, Dataset, read_csv_from};
use crate::Float;

/// The pixels of one digit: 8 × 8, row-major.
pub const DIGITS_PIXELS: usize = 64;

/// The classes of the digits: 0 to 9.
pub const DIGITS_CLASSES: usize = 10;

/// `data/digits.csv.gz`, built into the library.
static DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// The 1797 handwritten digits shipped with bpnet: 8 × 8 images, one row of 64 pixels
/// (row-major, values 0 to 16) per digit, labels 0 to 9 (about 180 of each).
///
/// Source: UCI ML "Optical Recognition of Handwritten Digits" (E. Alpaydin, C. Kaynak, 1998),
/// the test split; CC BY 4.0. The file, `data/digits.csv.gz`, is built into the library (57 KB),
/// so this works from any directory. The pixels are the file's counts (0..=16): normalise them
/// with a [`Normalizer`](super::Normalizer) fitted on the training part, or divide by 16.
///
/// ```
/// use bpnet::data::{DIGITS_CLASSES, DIGITS_PIXELS, digits};
///
/// let data = digits();
/// assert_eq!(data.inputs.shape(), &[1797, DIGITS_PIXELS]);
/// assert_eq!(data.classes, DIGITS_CLASSES);
/// assert!(data.inputs.iter().all(|&p| (0.0..=16.0).contains(&p)));
/// let (train, test) = data.split(0.2, 1);
/// assert_eq!(test.len(), 359); // round(0.2 × 1797)
/// # let _ = train;
/// ```
pub fn digits() -> Dataset<f32> {
    parse(DIGITS_CSV_GZ, Path::new("data/digits.csv.gz (built in)"))
        .expect("the built-in digits file is checked by the tests")
}

/// Reads a digits file in the layout of `data/digits.csv.gz`: CSV (gzip'd or raw) without a
/// header, one digit per line, 64 pixels and then the label 0..=9 (the layout of the UCI files
/// `optdigits.tra` and `optdigits.tes` too).
///
/// Errors: those of [`read_csv`](super::read_csv), [`DataError::Unexpected`] for lines of
/// other than 65 fields, [`DataError::BadLabel`] for a label that is not an integer 0..=9.
pub fn load_digits<F: Float>(path: impl AsRef<Path>) -> Result<Dataset<F>, DataError> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    parse(file, path)
}

fn parse<F: Float, R: Read>(reader: R, path: &Path) -> Result<Dataset<F>, DataError> {
    let csv = read_csv_from::<F, _>(reader, path, &CsvOptions::new().label(Column::Last))?;
    if csv.features.ncols() != DIGITS_PIXELS {
        return Err(DataError::Unexpected {
            path: path.to_path_buf(),
            expected: format!("{} pixels and a label per line", DIGITS_PIXELS),
            found: format!("{} fields", csv.features.ncols() + 1),
        });
    }
    let labels = csv
        .labels
        .iter()
        .flatten()
        .enumerate()
        .map(|(sample, &v)| {
            let v = v.to_f64();
            if v.fract() == 0.0 && (0.0..DIGITS_CLASSES as f64).contains(&v) {
                Ok(v as usize)
            } else {
                Err(DataError::BadLabel {
                    path: path.to_path_buf(),
                    sample,
                    value: v.to_string(),
                    expected: format!("the integers 0 to {}", DIGITS_CLASSES - 1),
                })
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Dataset::new(csv.features, labels, DIGITS_CLASSES))
}
