//! What can go wrong when reading a data set.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::idx::IdxType;

/// What was wrong with a data file, or with tensors given to [`Normalizer::from_tensors`].
///
/// Every variant about a file names the file. Line and column numbers count from 1, as editors
/// and spreadsheets do; sizes are in bytes of the decompressed contents.
///
/// `Debug` prints the message, as `Display`, so `main` returning the error shows it.
///
/// [`Normalizer::from_tensors`]: super::Normalizer::from_tensors
///
/// ```
/// use bpnet::data::{read_idx, DataError};
///
/// let err = read_idx("no/such/file.idx").unwrap_err();
/// assert!(matches!(err, DataError::Io { .. }));
/// assert!(err.to_string().starts_with("no/such/file.idx: "));
/// ```
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened, read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file starts like gzip (bytes `1f 8b`) but does not decompress: corrupt or cut short.
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: io::Error,
    },
    /// An IDX file whose first two bytes are not zero: not an IDX file.
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The file's first four bytes.
        magic: [u8; 4],
    },
    /// An IDX file whose third byte is not one of the IDX type codes (see [`IdxType`]).
    UnknownType {
        /// The file.
        path: PathBuf,
        /// The type code found.
        code: u8,
    },
    /// A file shorter than its header says.
    Truncated {
        /// The file.
        path: PathBuf,
        /// The part that is cut short: `"header"` or `"data"`.
        part: &'static str,
        /// The size the header implies, in bytes from the start of the file.
        expected: u64,
        /// The file's size.
        found: u64,
    },
    /// A file longer than its header says.
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// The size the header implies.
        expected: u64,
        /// The file's size.
        found: u64,
    },
    /// IDX dimension sizes whose product (times the size of one value) does not fit in memory
    /// addresses: the header is corrupt.
    DimensionOverflow {
        /// The file.
        path: PathBuf,
        /// The dimension sizes the header gives.
        dims: Vec<u32>,
    },
    /// A CSV field that is not a finite number.
    NotANumber {
        /// The file.
        path: PathBuf,
        /// The line the record starts on, from 1.
        line: u64,
        /// The field's column, from 1.
        column: usize,
        /// The field as found (lossily decoded if it is not UTF-8).
        field: String,
    },
    /// A CSV record with a different number of fields than the first one (or the header).
    Ragged {
        /// The file.
        path: PathBuf,
        /// The line the record starts on, from 1.
        line: u64,
        /// The number of fields of the first record.
        expected: usize,
        /// The number of fields of this one.
        found: usize,
    },
    /// A CSV file without any data record.
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The label column asked for is not in the CSV file.
    NoColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for, as given.
        column: String,
        /// The number of columns of the file.
        columns: usize,
    },
    /// A CSV header that names the label column asked for ([`Column::Name`]) more than once, so
    /// that which one holds the labels is ambiguous.
    ///
    /// [`Column::Name`]: super::Column::Name
    AmbiguousColumn {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        column: String,
        /// The first column of that name, from 1.
        first: usize,
        /// The second, from 1.
        second: usize,
    },
    /// A class label that is not an integer in the range the loader expects.
    BadLabel {
        /// The file.
        path: PathBuf,
        /// The sample, from 0 (for a CSV file without a header, its line is `sample + 1`).
        sample: usize,
        /// The label as found.
        value: String,
        /// The labels allowed.
        expected: String,
    },
    /// A well-formed file that is not what the loader expects (type, dimensions, widths).
    Unexpected {
        /// The file.
        path: PathBuf,
        /// What the loader expects.
        expected: String,
        /// What the file holds.
        found: String,
    },
    /// An images file and a labels file that disagree on the number of samples.
    CountMismatch {
        /// The images file.
        images: PathBuf,
        /// Its number of images.
        image_count: usize,
        /// The labels file.
        labels: PathBuf,
        /// Its number of labels.
        label_count: usize,
    },
    /// An array that cannot be written in the format (IDX: more than 255 dimensions, or a
    /// dimension of 2³² or more).
    Unwritable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A saved tensor that is missing or wrong (for [`Normalizer::from_tensors`]).
    ///
    /// [`Normalizer::from_tensors`]: super::Normalizer::from_tensors
    Tensor {
        /// The tensor's name.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A class label that is not below the number of classes (for [`encode_labels`] and
    /// [`Dataset::try_new`]).
    ///
    /// [`encode_labels`]: super::encode_labels
    /// [`Dataset::try_new`]: super::Dataset::try_new
    LabelOutOfRange {
        /// The sample, from 0.
        sample: usize,
        /// Its label.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// Inputs without one row per label (for [`Dataset::try_new`]).
    ///
    /// [`Dataset::try_new`]: super::Dataset::try_new
    RowCount {
        /// The rows of inputs.
        rows: usize,
        /// The labels.
        labels: usize,
    },
    /// A test fraction that is not in `[0, 1]` (NaN included), for [`split_indices`].
    ///
    /// [`split_indices`]: super::split_indices
    BadFraction {
        /// The fraction given.
        fraction: f64,
    },
    /// Data of another width than a [`Normalizer`]'s (for [`Normalizer::try_apply`] and the
    /// other `try_` forms).
    ///
    /// [`Normalizer`]: super::Normalizer
    /// [`Normalizer::try_apply`]: super::Normalizer::try_apply
    Width {
        /// The width the normaliser was fitted on.
        expected: usize,
        /// The width of the data given.
        found: usize,
    },
    /// A sample index that is not below the number of samples (for [`Dataset::try_select`]).
    ///
    /// [`Dataset::try_select`]: super::Dataset::try_select
    IndexOutOfRange {
        /// The index given.
        index: usize,
        /// The number of samples.
        len: usize,
    },
    /// Rows of another width than a data set's (for [`Dataset::pairs`]): inputs of `N` values
    /// from a data set of another width, or targets of `K` values for another number of classes.
    ///
    /// [`Dataset::pairs`]: super::Dataset::pairs
    Columns {
        /// `"inputs"` or `"targets"`.
        part: &'static str,
        /// The width asked for (the network's).
        expected: usize,
        /// The data set's: its width for inputs, its number of classes for targets.
        found: usize,
    },
}

impl DataError {
    /// The file the error is about (the images file for [`DataError::CountMismatch`]); `None`
    /// for the errors about values in memory ([`DataError::Tensor`], [`DataError::LabelOutOfRange`],
    /// [`DataError::RowCount`], [`DataError::BadFraction`], [`DataError::Width`],
    /// [`DataError::IndexOutOfRange`], [`DataError::Columns`]).
    pub fn path(&self) -> Option<&Path> {
        match self {
            DataError::Io { path, .. }
            | DataError::Gzip { path, .. }
            | DataError::BadMagic { path, .. }
            | DataError::UnknownType { path, .. }
            | DataError::Truncated { path, .. }
            | DataError::TrailingBytes { path, .. }
            | DataError::DimensionOverflow { path, .. }
            | DataError::NotANumber { path, .. }
            | DataError::Ragged { path, .. }
            | DataError::Empty { path }
            | DataError::NoColumn { path, .. }
            | DataError::AmbiguousColumn { path, .. }
            | DataError::BadLabel { path, .. }
            | DataError::Unexpected { path, .. }
            | DataError::Unwritable { path, .. } => Some(path),
            DataError::CountMismatch { images, .. } => Some(images),
            DataError::Tensor { .. }
            | DataError::LabelOutOfRange { .. }
            | DataError::RowCount { .. }
            | DataError::BadFraction { .. }
            | DataError::Width { .. }
            | DataError::IndexOutOfRange { .. }
            | DataError::Columns { .. } => None,
        }
    }

    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = self.path()
            && !matches!(self, DataError::CountMismatch { .. })
        {
            write!(f, "{}: ", path.display())?;
        }
        match self {
            DataError::Io { source, .. } => write!(f, "{source}"),
            DataError::Gzip { source, .. } => {
                write!(f, "gzip data that does not decompress ({source})")
            }
            DataError::BadMagic { magic, .. } => write!(
                f,
                "not an IDX file: it starts with bytes {:02x} {:02x} {:02x} {:02x}, an IDX file \
                 with 00 00, its type code and its number of dimensions",
                magic[0], magic[1], magic[2], magic[3]
            ),
            DataError::UnknownType { code, .. } => write!(
                f,
                "unknown IDX type code 0x{code:02x} (known: {})",
                IdxType::ALL
                    .iter()
                    .map(|t| format!("0x{:02x} {}", t.code(), t.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            DataError::Truncated {
                part,
                expected,
                found,
                ..
            } => write!(
                f,
                "truncated {part}: expected {expected} bytes, found {found}"
            ),
            DataError::TrailingBytes {
                expected, found, ..
            } => write!(
                f,
                "{} trailing bytes: the header accounts for {expected} bytes, found {found}",
                found - expected
            ),
            DataError::DimensionOverflow { dims, .. } => write!(
                f,
                "dimensions {} overflow: their product does not fit in memory (corrupt header)",
                dims.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join("×")
            ),
            DataError::NotANumber {
                line,
                column,
                field,
                ..
            } => write!(
                f,
                "line {line}, column {column}: `{field}` is not a finite number"
            ),
            DataError::Ragged {
                line,
                expected,
                found,
                ..
            } => write!(
                f,
                "line {line}: {found} fields, but the first record has {expected}"
            ),
            DataError::Empty { .. } => write!(f, "no data records"),
            DataError::NoColumn {
                column, columns, ..
            } => write!(f, "no column {column} among its {columns} columns"),
            DataError::AmbiguousColumn {
                column,
                first,
                second,
                ..
            } => write!(
                f,
                "the header names the label column `{column}` twice, columns {first} and \
                 {second}: rename one, or choose the label by index (`Column::Index`)"
            ),
            DataError::BadLabel {
                sample,
                value,
                expected,
                ..
            } => write!(
                f,
                "sample {sample}: label `{value}` is not one of {expected}"
            ),
            DataError::Unexpected {
                expected, found, ..
            } => write!(f, "expected {expected}, found {found}"),
            DataError::CountMismatch {
                images,
                image_count,
                labels,
                label_count,
            } => write!(
                f,
                "{} has {image_count} images but {} has {label_count} labels",
                images.display(),
                labels.display()
            ),
            DataError::Unwritable { reason, .. } => write!(f, "cannot be written: {reason}"),
            DataError::Tensor { name, problem } => write!(f, "tensor `{name}`: {problem}"),
            DataError::LabelOutOfRange {
                sample,
                label,
                classes,
            } => write!(
                f,
                "label {label} of sample {sample} is not below the {classes} classes"
            ),
            DataError::RowCount { rows, labels } => write!(
                f,
                "a data set needs one row of inputs per label: {rows} rows, {labels} labels"
            ),
            DataError::BadFraction { fraction } => {
                write!(f, "the test fraction must be in [0, 1], not {fraction}")
            }
            DataError::Width { expected, found } => write!(
                f,
                "the normaliser was fitted on {expected} features, the data has {found}"
            ),
            DataError::IndexOutOfRange { index, len } => write!(
                f,
                "sample index {index} is out of range: the data set has {len} samples"
            ),
            DataError::Columns {
                part: "targets",
                expected,
                found,
            } => write!(
                f,
                "targets of {expected} values were asked for, but the data set has {found} \
                 classes (declare `target y: {found}`, one value per class)"
            ),
            DataError::Columns {
                part,
                expected,
                found,
            } => write!(
                f,
                "{part} of {expected} values were asked for, but the data set's have {found} \
                 (declare `input x: {found}`)"
            ),
        }
    }
}

bpnet_runtime::debug_as_display!(DataError);

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataError::Io { source, .. } | DataError::Gzip { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_the_message() {
        let e = DataError::Ragged {
            path: PathBuf::from("train.csv"),
            line: 3,
            expected: 4,
            found: 5,
        };
        assert!(format!("{e:?}").starts_with(&e.to_string()));
    }
}
