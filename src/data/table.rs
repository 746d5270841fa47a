//! CSV files of numbers.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::ndarray::{Array1, Array2};
use csv::{ByteRecord, ReaderBuilder, Trim};

use super::{DataError, maybe_gzip};
use crate::Float;

/// A column of a CSV file, for [`CsvOptions::label`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// The column at this index, counting from 0.
    Index(usize),
    /// The last column.
    Last,
    /// The column with this name in the header row (needs [`CsvOptions::header`]); a header
    /// that gives it to two columns is an error ([`DataError::AmbiguousColumn`]).
    Name(String),
}

/// How [`read_csv`] reads a file: with or without a header row, which column (if any) holds the
/// labels, and the delimiter.
///
/// ```
/// use bpnet::data::{Column, CsvOptions};
///
/// // A header row, the labels in the column named "species", fields separated by ';'.
/// let options = CsvOptions::new().header(true).label(Column::Name("species".into())).delimiter(b';');
/// # let _ = options;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    header: bool,
    label: Option<Column>,
    delimiter: u8,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions::new()
    }
}

impl CsvOptions {
    /// No header row, no label column, comma-separated.
    pub fn new() -> Self {
        CsvOptions {
            header: false,
            label: None,
            delimiter: b',',
        }
    }

    /// Whether the first record is a header row of column names (default `false`).
    pub fn header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }

    /// The column that holds the labels (default none: every column is a feature).
    pub fn label(mut self, column: Column) -> Self {
        self.label = Some(column);
        self
    }

    /// The field delimiter (default `b','`).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }
}

/// The numbers of a CSV file: one row per record.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvData<F = f32> {
    /// The header row's names of every column, label included, if the file was read with a
    /// header.
    pub header: Option<Vec<String>>,
    /// Every column but the label column, in file order.
    pub features: Array2<F>,
    /// The label column, if one was asked for.
    pub labels: Option<Array1<F>>,
    /// The label column's index in the file, counting from 0, if one was asked for.
    pub label_column: Option<usize>,
}

/// Reads a CSV file of numbers, gzip'd or raw (told apart by the gzip magic bytes), into
/// `f32` or `f64` arrays.
///
/// Fields are trimmed of spaces and may be quoted; empty lines are skipped, and so is a UTF-8
/// byte order mark. Every field must be a finite number in Rust's syntax (`3`, `-0.5`, `1e-3`;
/// read as `f64`, then rounded to `F`), the labels too. Errors name the file and, for a field
/// that is not a number ([`DataError::NotANumber`]) or a record whose number of fields differs
/// from the first record's or the header's ([`DataError::Ragged`]), the line (counting blank
/// lines, and `\n`, `\r\n` or `\r` as line breaks) and the column, both from 1. A file without
/// data records is [`DataError::Empty`]; a label column that is not there is
/// [`DataError::NoColumn`], and one chosen by a name that the header gives to two columns is
/// [`DataError::AmbiguousColumn`] (other columns may share a name).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use bpnet::data::{Column, CsvOptions, read_csv};
///
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sunspots.csv");
/// let data = read_csv::<f64>(path, &CsvOptions::new().header(true).label(Column::Name("SUNACTIVITY".into())))?;
/// assert_eq!(data.header.as_deref(), Some(&["YEAR".to_string(), "SUNACTIVITY".to_string()][..]));
/// assert_eq!(data.features.column(0)[0], 1700.0);
/// assert_eq!(data.labels.unwrap().len(), 309);
/// # Ok(())
/// # }
/// ```
pub fn read_csv<F: Float>(
    path: impl AsRef<Path>,
    options: &CsvOptions,
) -> Result<CsvData<F>, DataError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    read_csv_from(file, path, options)
}

/// Reads CSV from `reader` as [`read_csv`] reads a file; `name` names it in errors.
///
/// ```
/// use bpnet::data::{CsvOptions, DataError, read_csv_from};
///
/// let data = read_csv_from::<f32, _>(&b"1,2\n3,4\n"[..], "inline", &CsvOptions::new()).unwrap();
/// assert_eq!(data.features.shape(), &[2, 2]);
///
/// let err = read_csv_from::<f32, _>(&b"1,2\n3,x\n"[..], "inline", &CsvOptions::new()).unwrap_err();
/// assert!(matches!(err, DataError::NotANumber { line: 2, column: 2, .. }));
/// assert_eq!(err.to_string(), "inline: line 2, column 2: `x` is not a finite number");
/// ```
pub fn read_csv_from<F: Float, R: Read>(
    reader: R,
    name: impl AsRef<Path>,
    options: &CsvOptions,
) -> Result<CsvData<F>, DataError> {
    let path = name.as_ref();
    let (mut reader, gzip) = maybe_gzip(reader).map_err(|e| DataError::io(path, e))?;
    // An error while reading: of the decompressor if the data is gzip'd.
    let io_error = |source: io::Error| {
        if gzip {
            DataError::Gzip {
                path: path.to_path_buf(),
                source,
            }
        } else {
            DataError::io(path, source)
        }
    };
    let read_error = |e: csv::Error| {
        io_error(match e.into_kind() {
            csv::ErrorKind::Io(e) => e,
            other => io::Error::other(format!("{other:?}")),
        })
    };
    // A UTF-8 byte order mark (spreadsheets write one) is not part of the first field.
    let mut head = Vec::with_capacity(3);
    (&mut reader)
        .take(3)
        .read_to_end(&mut head)
        .map_err(io_error)?;
    if head == [0xEF, 0xBB, 0xBF] {
        head.clear();
    }
    let reader = io::Cursor::new(head).chain(reader);
    let mut csv = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(Trim::All)
        .delimiter(options.delimiter)
        .from_reader(LineCounter::new(reader));

    let mut record = ByteRecord::new();
    let mut header: Option<Vec<String>> = None;
    // The number of fields of every record, and the label's column, once known.
    let mut shape: Option<(usize, Option<usize>)> = None;
    let mut features = Vec::new();
    let mut labels = Vec::new();
    let mut rows = 0usize;
    while csv.read_byte_record(&mut record).map_err(read_error)? {
        let line = match record.position() {
            Some(p) => csv.get_mut().line_at(p.byte()).unwrap_or(p.line()),
            None => 0,
        };
        let (width, label) = match shape {
            Some(shape) => shape,
            None => {
                let width = record.len();
                let label = match &options.label {
                    None => None,
                    Some(column) => Some(find_column(column, &record, options.header, path)?),
                };
                shape = Some((width, label));
                if options.header && header.is_none() {
                    header = Some(
                        record
                            .iter()
                            .map(|f| String::from_utf8_lossy(f).into_owned())
                            .collect(),
                    );
                    continue;
                }
                (width, label)
            }
        };
        if record.len() != width {
            return Err(DataError::Ragged {
                path: path.to_path_buf(),
                line,
                expected: width,
                found: record.len(),
            });
        }
        for (j, field) in record.iter().enumerate() {
            let value = std::str::from_utf8(field)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .map(F::from_f64)
                .filter(|v| v.is_finite())
                .ok_or_else(|| DataError::NotANumber {
                    path: path.to_path_buf(),
                    line,
                    column: j + 1,
                    field: String::from_utf8_lossy(field).into_owned(),
                })?;
            if Some(j) == label {
                labels.push(value);
            } else {
                features.push(value);
            }
        }
        rows += 1;
    }
    let Some((width, label)) = shape.filter(|_| rows > 0) else {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    };
    let features_width = width - usize::from(label.is_some());
    let features = Array2::from_shape_vec((rows, features_width), features).map_err(|e| {
        DataError::Unexpected {
            path: path.to_path_buf(),
            expected: format!("{rows} × {features_width} numbers"),
            found: e.to_string(),
        }
    })?;
    Ok(CsvData {
        header,
        features,
        labels: label.map(|_| Array1::from(labels)),
        label_column: label,
    })
}

/// The index of `column` in the file's first record, `first`, which is the header row if
/// `is_header`.
fn find_column(
    column: &Column,
    first: &ByteRecord,
    is_header: bool,
    path: &Path,
) -> Result<usize, DataError> {
    let width = first.len();
    let missing = |column: String| DataError::NoColumn {
        path: path.to_path_buf(),
        column,
        columns: width,
    };
    match column {
        Column::Index(i) if *i < width => Ok(*i),
        Column::Index(i) => Err(missing(format!("index {i} (from 0)"))),
        Column::Last => width
            .checked_sub(1)
            .ok_or_else(|| missing("last".to_string())),
        Column::Name(name) if is_header => {
            let mut found = first
                .iter()
                .enumerate()
                .filter(|&(_, f)| f == name.as_bytes())
                .map(|(i, _)| i);
            match (found.next(), found.next()) {
                (Some(i), None) => Ok(i),
                (Some(i), Some(j)) => Err(DataError::AmbiguousColumn {
                    path: path.to_path_buf(),
                    column: name.clone(),
                    first: i + 1,
                    second: j + 1,
                }),
                (None, _) => Err(missing(format!("`{name}`"))),
            }
        }
        Column::Name(name) => Err(missing(format!(
            "`{name}` (the file is read without a header)"
        ))),
    }
}

/// Counts the lines of what the CSV reader reads, because the `csv` crate's record positions
/// count neither blank lines nor a `\r\n` after a `\r\n` (rust-csv issues #184 and #208).
///
/// A record's position from the `csv` crate is the byte just after the previous record's
/// terminator: the start of the record's line, or of the blank lines before it, or the `\n`
/// of a `\r\n`. The record's line is therefore the first non-blank line starting at or after
/// that byte. Line breaks are `\n`, `\r\n` and `\r`. Only the starts of lines the CSV reader
/// has read ahead are kept.
struct LineCounter<R> {
    inner: R,
    /// (byte offset, line number) of each non-blank line start not yet claimed by a record.
    starts: VecDeque<(u64, u64)>,
    offset: u64,
    line: u64,
    at_line_start: bool,
    after_cr: bool,
}

impl<R> LineCounter<R> {
    fn new(inner: R) -> Self {
        LineCounter {
            inner,
            starts: VecDeque::new(),
            offset: 0,
            line: 1,
            at_line_start: true,
            after_cr: false,
        }
    }

    /// The line of the record the `csv` crate places at `byte`; forgets earlier lines.
    fn line_at(&mut self, byte: u64) -> Option<u64> {
        while self
            .starts
            .front()
            .is_some_and(|&(offset, _)| offset < byte)
        {
            self.starts.pop_front();
        }
        self.starts.front().map(|&(_, line)| line)
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            match b {
                b'\n' => {
                    if !self.after_cr {
                        self.line += 1;
                    }
                    self.at_line_start = true;
                    self.after_cr = false;
                }
                b'\r' => {
                    self.line += 1;
                    self.at_line_start = true;
                    self.after_cr = true;
                }
                _ => {
                    if self.at_line_start {
                        self.starts.push_back((self.offset, self.line));
                        self.at_line_start = false;
                    }
                    self.after_cr = false;
                }
            }
            self.offset += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first field of every record of `text`, where each record holds its own line number.
    fn lines(text: &str) -> Vec<u64> {
        match read_csv_from::<f64, _>(text.as_bytes(), "t", &CsvOptions::new()) {
            Ok(data) => data.features.column(0).iter().map(|&v| v as u64).collect(),
            Err(e) => panic!("{text:?}: {e}"),
        }
    }

    #[test]
    fn records_know_their_lines() {
        assert_eq!(lines("1\n2\n3\n"), [1, 2, 3]);
        assert_eq!(lines("1\n\n\n4\n\n6"), [1, 4, 6]);
        assert_eq!(lines("\n\n3\n4\n"), [3, 4]);
        assert_eq!(lines("1\r\n\r\n3\r\n4\r\n"), [1, 3, 4]);
        assert_eq!(lines("1\r2\r\r4"), [1, 2, 4]);
        assert_eq!(lines("\u{feff}1\n2\n"), [1, 2]);
        assert_eq!(lines("1,\" 2\n \"\n3,4\n\n5,6\n"), [1, 3, 5]); // a quoted line break
        // Long enough that the reader reads ahead several times.
        let long: String = (1..=5000)
            .map(|i| {
                if i % 7 == 0 {
                    "\n".to_string()
                } else {
                    format!("{i}\n")
                }
            })
            .collect();
        let expected: Vec<u64> = (1..=5000).filter(|i| i % 7 != 0).collect();
        assert_eq!(lines(&long), expected);
    }

    #[test]
    fn errors_after_blank_lines_and_crlf_name_the_right_line() {
        let err = read_csv_from::<f32, _>(&b"1,2\r\n\r\n\r\n3,x\r\n"[..], "t", &CsvOptions::new())
            .unwrap_err();
        assert!(
            matches!(
                err,
                DataError::NotANumber {
                    line: 4,
                    column: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = read_csv_from::<f32, _>(&b"1,2\n\n3\n"[..], "t", &CsvOptions::new()).unwrap_err();
        assert!(matches!(err, DataError::Ragged { line: 3, .. }), "{err:?}");
    }
}
