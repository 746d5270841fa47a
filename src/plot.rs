//! Pictures of training: loss curves and heat maps as PNG files, and a network's graph as a
//! Graphviz DOT file.
//!
//! - [`loss_curves`] draws one line per series (training and validation loss per epoch, say),
//!   on a linear or a logarithmic scale.
//! - [`heat_map`] draws a 2-D grid of values with its axes and a colour scale: the lecture's loss
//!   landscape of the 1-1-1 net over (W0, W1), for one (`examples/one_one_one.rs`).
//! - [`write_dot`] writes a network's architecture, its `DOT` constant (every network that
//!   `network!` declares has one), for `dot -Tpng net.dot -o net.png`.
//!
//! Charts are drawn by [`plotters`](https://docs.rs/plotters) into a bitmap, their text with a
//! subset of DejaVu Sans embedded in the library (`assets/fonts/`, licence beside it): no system
//! font is read, so a chart looks the same on every machine. Only printable ASCII, Greek letters,
//! `° ± ² ³ · × – — − ≈ ≤ ≥` and superscript and subscript digits have glyphs; other characters in
//! titles and labels are drawn as blanks.
//!
//! Every function checks its input before it touches the file system, and returns a
//! [`PlotError`] naming the path instead of panicking. Files are written atomically: to a temporary file in the same
//! directory, then renamed over `path`, so an interrupted or failed run leaves either the old file
//! or the new one, never half a PNG. (The directory must therefore be writable, not just the
//! file.) A file written over keeps its permissions; a read-only one (on Unix, no write bit in
//! its mode, the rule even for root; or one this process may not open for writing) is refused,
//! unchanged, with an I/O error of kind [`std::io::ErrorKind::PermissionDenied`].
//!
//! ```
//! use bpnet::plot::{self, CurveOptions};
//!
//! let dir = std::env::temp_dir().join(format!("bpnet-plot-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let train = [0.9, 0.5, 0.3, 0.2, 0.15];
//! let valid = [1.0, 0.6, 0.4, 0.35, 0.34];
//! let path = dir.join("loss.png");
//! plot::loss_curves(&path, &[("train", &train), ("validation", &valid)], &CurveOptions::new())?;
//! assert!(path.exists());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, FontTransform, register_font};

/// The smallest width and height of a chart, in pixels: below it the axes' labels do not fit.
pub const MIN_SIZE: (u32, u32) = (320, 240);
/// The largest width or height of a chart, in pixels (a chart that size takes 200 MB to draw).
pub const MAX_SIDE: u32 = 8192;

/// The smallest value drawn on a logarithmic scale: smaller ones (subnormal and near-subnormal
/// numbers) are skipped like zero, since the drawing library cannot place ticks that low.
pub const MIN_LOG_VALUE: f64 = 1e-300;

/// The most powers of ten the values drawn on a logarithmic scale may span (largest over
/// smallest at most `1e305`); wider spans are [`PlotErrorKind::Invalid`], as the drawing library
/// hangs on them.
pub const MAX_LOG_DECADES: i32 = 305;

/// An error writing a picture: which file, and what went wrong.
///
/// `Debug` prints the message, as `Display`, so `main` returning the error shows it.
pub struct PlotError {
    path: PathBuf,
    kind: PlotErrorKind,
}

/// What went wrong writing a picture; see [`PlotError::kind`].
#[derive(Debug)]
#[non_exhaustive]
pub enum PlotErrorKind {
    /// Reading or writing a file failed (the directory does not exist or is not writable, the
    /// path names a directory, the disk is full, …).
    Io(io::Error),
    /// Nothing to draw: no series, or no value that can be drawn (every value is NaN or
    /// infinite, or below [`MIN_LOG_VALUE`] on a logarithmic scale).
    NoData,
    /// The grid of a heat map is empty (no value or zero columns), or its number of values
    /// `len` is not a multiple of its number of columns `cols`.
    Grid {
        /// The number of values given.
        len: usize,
        /// The number of columns given.
        cols: usize,
    },
    /// The requested image size is below [`MIN_SIZE`] or above [`MAX_SIDE`].
    Size {
        /// The requested width in pixels.
        width: u32,
        /// The requested height in pixels.
        height: u32,
    },
    /// An option or the data cannot be drawn, for the reason given: an axis range that is empty,
    /// reversed or not finite, a step that is not positive, values spanning more than `f64`
    /// can represent, or more than [`MAX_LOG_DECADES`] decades on a logarithmic scale.
    Invalid(String),
    /// The drawing library failed, with its message.
    Draw(String),
}

impl PlotError {
    fn new(path: &Path, kind: PlotErrorKind) -> Self {
        PlotError {
            path: path.to_path_buf(),
            kind,
        }
    }

    /// The file that was to be written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What went wrong.
    pub fn kind(&self) -> &PlotErrorKind {
        &self.kind
    }
}

impl fmt::Display for PlotErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlotErrorKind::Io(e) => write!(f, "{e}"),
            PlotErrorKind::NoData => f.write_str("no value to draw (all NaN, infinite or empty)"),
            PlotErrorKind::Grid { len, cols } => {
                write!(
                    f,
                    "a grid of {len} values in {cols} columns is not a rectangle"
                )
            }
            PlotErrorKind::Size { width, height } => write!(
                f,
                "an image of {width}×{height} pixels: each side must be from {}×{} to {MAX_SIDE}",
                MIN_SIZE.0, MIN_SIZE.1
            ),
            PlotErrorKind::Invalid(why) => f.write_str(why),
            PlotErrorKind::Draw(why) => write!(f, "drawing failed: {why}"),
        }
    }
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write {}: {}", self.path.display(), self.kind)
    }
}

bpnet_runtime::debug_as_display!(PlotError);

impl std::error::Error for PlotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            PlotErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// How [`loss_curves`] draws: size, title, axis labels, scale.
///
/// ```
/// use bpnet::plot::CurveOptions;
///
/// let options = CurveOptions::new()
///     .size(1000, 600)
///     .title("XOR, learning rate 0.1")
///     .y_label("mean loss")
///     .log_scale(true)
///     .x_axis(0.0, 10.0); // the first value is at step 0, the next at 10, …
/// # let _ = options;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CurveOptions {
    width: u32,
    height: u32,
    title: String,
    x_label: String,
    y_label: String,
    log_scale: bool,
    x_start: f64,
    x_step: f64,
}

impl Default for CurveOptions {
    fn default() -> Self {
        CurveOptions {
            width: 800,
            height: 500,
            title: String::new(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            log_scale: false,
            x_start: 1.0,
            x_step: 1.0,
        }
    }
}

impl CurveOptions {
    /// 800×500 pixels, no title, x axis "epoch" from 1 in steps of 1, y axis "loss", linear.
    pub fn new() -> Self {
        Self::default()
    }

    /// The image size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        (self.width, self.height) = (width, height);
        self
    }

    /// The title above the chart (none if empty).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// The label of the x axis (default "epoch").
    pub fn x_label(mut self, label: impl Into<String>) -> Self {
        self.x_label = label.into();
        self
    }

    /// The label of the y axis (default "loss").
    pub fn y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = label.into();
        self
    }

    /// A logarithmic y axis: losses that fall by orders of magnitude stay readable. Values that
    /// are zero, negative or below [`MIN_LOG_VALUE`] cannot be drawn on it and are skipped like
    /// NaN; the values drawn may span at most [`MAX_LOG_DECADES`] powers of ten.
    pub fn log_scale(mut self, log: bool) -> Self {
        self.log_scale = log;
        self
    }

    /// Where the values of each series sit on the x axis: value `i` at `start + i · step`
    /// (default: 1, 2, 3, … for epochs counted from 1). `step` must be positive.
    pub fn x_axis(mut self, start: f64, step: f64) -> Self {
        (self.x_start, self.x_step) = (start, step);
        self
    }
}

/// Draws loss curves to a PNG file: one line per `(name, values)` series, value `i` at
/// `x = start + i · step` (see [`CurveOptions::x_axis`]), with a legend of the series' names
/// (a series with an empty name has no legend entry).
///
/// Values that cannot be drawn (NaN, infinite, and on a logarithmic scale zero, negative or
/// below [`MIN_LOG_VALUE`]) are skipped: the line breaks there, and a value between two skipped
/// ones is drawn as a dot. Empty
/// series are allowed. The axes span the values that are drawn.
///
/// # Errors
///
/// [`PlotErrorKind::NoData`] if there is no series or no value to draw; [`PlotErrorKind::Size`]
/// for a size outside [`MIN_SIZE`]..=[`MAX_SIDE`]; [`PlotErrorKind::Invalid`] for a step that is
/// not positive, an x axis beyond `f64`, or on a logarithmic scale values spanning more than
/// [`MAX_LOG_DECADES`] powers of ten; [`PlotErrorKind::Io`] if the file cannot be written.
/// Bad input is found before any file is touched; on any error `path` is left as it was.
///
/// ```
/// use bpnet::plot::{self, CurveOptions, PlotErrorKind};
///
/// let path = std::env::temp_dir().join("bpnet-never-written.png");
/// let err = plot::loss_curves(&path, &[("train", &[f64::NAN])], &CurveOptions::new())
///     .unwrap_err();
/// assert!(matches!(err.kind(), PlotErrorKind::NoData));
/// assert_eq!(err.path(), path);
/// ```
pub fn loss_curves(
    path: impl AsRef<Path>,
    series: &[(&str, &[f64])],
    options: &CurveOptions,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let fail = |kind| PlotError::new(path, kind);
    check_size(options.width, options.height).map_err(fail)?;
    let o = options;
    if !(o.x_step.is_finite() && o.x_step > 0.0 && o.x_start.is_finite()) {
        return Err(fail(PlotErrorKind::Invalid(format!(
            "the x axis starts at {} in steps of {}: the start must be finite, the step positive",
            o.x_start, o.x_step
        ))));
    }
    let drawable = |v: f64| v.is_finite() && (!o.log_scale || v >= MIN_LOG_VALUE);
    let mut ys = series
        .iter()
        .flat_map(|(_, values)| values.iter().copied())
        .filter(|&v| drawable(v));
    let first = ys.next().ok_or_else(|| fail(PlotErrorKind::NoData))?;
    let (lo, hi) = ys.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let longest = series.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let x_last = o.x_start + (longest - 1) as f64 * o.x_step;
    let x_range = if longest == 1 {
        o.x_start - 0.5 * o.x_step..o.x_start + 0.5 * o.x_step
    } else {
        o.x_start..x_last
    };
    let x_range = finite_range(x_range).ok_or_else(|| {
        fail(PlotErrorKind::Invalid(format!(
            "an x axis from {} to {x_last} is beyond f64",
            o.x_start
        )))
    })?;
    let y_range = if o.log_scale {
        // Wider spans hang plotters 0.3.7 (its tick search loops when the ratio of the axis
        // ends overflows). An infinite `hi / lo` is caught here too.
        if hi / lo > 10f64.powi(MAX_LOG_DECADES) {
            return Err(fail(PlotErrorKind::Invalid(format!(
                "values from {lo} to {hi} span more than {MAX_LOG_DECADES} powers of ten, \
                 too many for a logarithmic axis"
            ))));
        }
        log_range(lo, hi)
    } else {
        pad_linear(lo, hi)
    };
    let y_range = finite_range(y_range).ok_or_else(|| {
        fail(PlotErrorKind::Invalid(format!(
            "values from {lo} to {hi} span more than f64 can draw"
        )))
    })?;
    write_png(path, o.width, o.height, |root| {
        draw_curves(root, series, o, x_range, y_range, &drawable)
    })
}

/// How [`heat_map`] draws: size, title, axis labels and ranges, colour scale.
///
/// ```
/// use bpnet::plot::HeatMapOptions;
///
/// let options = HeatMapOptions::new()
///     .title("loss of the 1-1-1 net")
///     .x_axis("W0", -4.0, 4.0)
///     .y_axis("W1", -4.0, 4.0)
///     .value_label("L(W0, W1)")
///     .value_range(0.0, 1.0);
/// # let _ = options;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct HeatMapOptions {
    width: u32,
    height: u32,
    title: String,
    x_label: String,
    y_label: String,
    value_label: String,
    x_range: (f64, f64),
    y_range: (f64, f64),
    value_range: Option<(f64, f64)>,
}

impl Default for HeatMapOptions {
    fn default() -> Self {
        HeatMapOptions {
            width: 720,
            height: 600,
            title: String::new(),
            x_label: "x".into(),
            y_label: "y".into(),
            value_label: String::new(),
            x_range: (0.0, 1.0),
            y_range: (0.0, 1.0),
            value_range: None,
        }
    }
}

impl HeatMapOptions {
    /// 720×600 pixels, no title, axes "x" and "y" over [0, 1], the colour scale from the grid's
    /// smallest to its largest value.
    pub fn new() -> Self {
        Self::default()
    }

    /// The image size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        (self.width, self.height) = (width, height);
        self
    }

    /// The title above the chart (none if empty).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// The x axis: its label, and the span `from..to` the grid's columns cover (`from < to`).
    pub fn x_axis(mut self, label: impl Into<String>, from: f64, to: f64) -> Self {
        self.x_label = label.into();
        self.x_range = (from, to);
        self
    }

    /// The y axis: its label, and the span `from..to` the grid's rows cover (`from < to`).
    pub fn y_axis(mut self, label: impl Into<String>, from: f64, to: f64) -> Self {
        self.y_label = label.into();
        self.y_range = (from, to);
        self
    }

    /// The label of the colour scale (none if empty).
    pub fn value_label(mut self, label: impl Into<String>) -> Self {
        self.value_label = label.into();
        self
    }

    /// A fixed colour scale from `low` (dark violet) to `high` (yellow), `low < high`, so that
    /// several maps compare; values beyond it take the colour of its end. By default the scale
    /// spans the grid's finite values.
    pub fn value_range(mut self, low: f64, high: f64) -> Self {
        self.value_range = Some((low, high));
        self
    }
}

/// Draws a grid of values as a heat map to a PNG file, with a colour scale beside it (viridis:
/// dark violet for low values, yellow for high ones).
///
/// The grid has `cols` columns and `values.len() / cols` rows, row by row:
/// `values[r * cols + c]` is the cell in column `c` from the left and row `r` **from the
/// bottom**, so that `y` grows upwards like the axis. The cells divide the options' x and y
/// ranges evenly: cell `(r, c)` spans `x` from `x0 + c·Δx` to `x0 + (c+1)·Δx` with
/// `Δx = (x1 − x0) / cols`, and likewise for `y`. To draw a function `f(x, y)`, sample it at the
/// cells' centres, `x0 + (c + ½)·Δx`.
///
/// NaN and infinite values are drawn in grey ("no value") and left out of the colour scale.
///
/// # Errors
///
/// [`PlotErrorKind::Grid`] for an empty grid, zero columns, or a length that is not a multiple of
/// `cols`; [`PlotErrorKind::NoData`] if no value is finite; [`PlotErrorKind::Invalid`] for an axis
/// or value range that is not finite or not increasing; [`PlotErrorKind::Size`] for a size outside
/// [`MIN_SIZE`]..=[`MAX_SIDE`]; [`PlotErrorKind::Io`] if the file cannot be written. Bad input is
/// found before any file is touched; on any error `path` is left as it was.
///
/// ```
/// use bpnet::plot::{self, HeatMapOptions};
///
/// // f(x, y) = x·y over [-1, 1]², 20 × 10 cells, sampled at the cells' centres.
/// let (cols, rows) = (20, 10);
/// let centre = |i: usize, n: usize| -1.0 + 2.0 * (i as f64 + 0.5) / n as f64;
/// let values: Vec<f64> = (0..rows)
///     .flat_map(|r| (0..cols).map(move |c| centre(c, cols) * centre(r, rows)))
///     .collect();
/// let options = HeatMapOptions::new().x_axis("x", -1.0, 1.0).y_axis("y", -1.0, 1.0);
/// let path = std::env::temp_dir().join(format!("bpnet-heat-doc-{}.png", std::process::id()));
/// plot::heat_map(&path, &values, cols, &options)?;
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), bpnet::plot::PlotError>(())
/// ```
pub fn heat_map(
    path: impl AsRef<Path>,
    values: &[f64],
    cols: usize,
    options: &HeatMapOptions,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let fail = |kind| PlotError::new(path, kind);
    let o = options;
    check_size(o.width, o.height).map_err(fail)?;
    if values.is_empty() || cols == 0 || !values.len().is_multiple_of(cols) {
        return Err(fail(PlotErrorKind::Grid {
            len: values.len(),
            cols,
        }));
    }
    let rows = values.len() / cols;
    let axis = |name: &str, (from, to): (f64, f64)| {
        finite_range(from..to)
            .filter(|r| r.start < r.end)
            .ok_or_else(|| {
                fail(PlotErrorKind::Invalid(format!(
                    "the {name} range {from}..{to} is not finite and increasing"
                )))
            })
    };
    let x_range = axis("x", o.x_range)?;
    let y_range = axis("y", o.y_range)?;
    let mut finite = values.iter().copied().filter(|v| v.is_finite());
    let first = finite.next().ok_or_else(|| fail(PlotErrorKind::NoData))?;
    let (lo, hi) = match o.value_range {
        Some(range) => {
            let r = axis("value", range)?;
            (r.start, r.end)
        }
        None => finite.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v))),
    };
    // A constant grid gets a scale around its value; the cells all take its middle colour.
    let scale = if lo < hi { lo..hi } else { pad_linear(lo, hi) };
    let scale = finite_range(scale).ok_or_else(|| {
        fail(PlotErrorKind::Invalid(format!(
            "values from {lo} to {hi} span more than f64 can draw"
        )))
    })?;
    write_png(path, o.width, o.height, |root| {
        draw_heat_map(root, values, (rows, cols), o, x_range, y_range, scale)
    })
}

/// Writes a network's architecture in Graphviz DOT to `path`, unchanged: pass the `DOT` constant
/// of a network declared with `network!` (`TwoLayer::DOT`), then draw it with
/// `dot -Tpng net.dot -o net.png` or any Graphviz viewer. The file is replaced atomically.
///
/// # Errors
///
/// [`PlotErrorKind::Io`] if the file cannot be written; `path` is then left as it was.
///
/// ```
/// use bpnet::prelude::*;
///
/// network! {
///     pub struct Tiny {
///         input  x: 2;
///         target y: 1;
///         s      = lin: linear(x -> 1);
///         out    = th: tanh(s);
///         energy = euclidean(out, y);
///     }
/// }
///
/// let path = std::env::temp_dir().join(format!("bpnet-dot-doc-{}.dot", std::process::id()));
/// bpnet::plot::write_dot(&path, Tiny::DOT)?;
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), Tiny::DOT);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), bpnet::plot::PlotError>(())
/// ```
pub fn write_dot(path: impl AsRef<Path>, dot: &str) -> Result<(), PlotError> {
    let path = path.as_ref();
    write_atomically(path, "dot", |tmp| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(tmp)
            .map_err(PlotErrorKind::Io)?;
        file.write_all(dot.as_bytes()).map_err(PlotErrorKind::Io)?;
        file.sync_all().map_err(PlotErrorKind::Io)
    })
}

// ---------------------------------------------------------------------------------------------
// Files

/// Writes `path` atomically (see [`crate::fsutil`]): `write` fills the temporary file beside it.
/// The temporary file's name ends in `.{extension}`, for the encoders that go by it.
fn write_atomically(
    path: &Path,
    extension: &str,
    write: impl FnOnce(&Path) -> Result<(), PlotErrorKind>,
) -> Result<(), PlotError> {
    crate::fsutil::write_atomic_with(path, PlotErrorKind::Io, |tmp| {
        // plotters picks the image format by the extension: write under one, then move.
        let named = tmp.with_extension(format!("tmp.{extension}"));
        let result =
            write(&named).and_then(|()| fs::rename(&named, tmp).map_err(PlotErrorKind::Io));
        if result.is_err() {
            let _ = fs::remove_file(&named);
        }
        result
    })
    .map_err(|kind| PlotError::new(path, kind))
}

/// Draws with `draw` on a bitmap of `width × height` and writes it to `path` as a PNG, atomically.
fn write_png(
    path: &Path,
    width: u32,
    height: u32,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<(), PlotError> {
    font()
        .map_err(PlotErrorKind::Draw)
        .map_err(|kind| PlotError::new(path, kind))?;
    write_atomically(path, "png", |tmp| {
        // The input is checked before drawing; catching a panic is a second line of defence
        // against the drawing library, so that a chart can never take a training run down.
        let drawn = catch_unwind(AssertUnwindSafe(|| {
            let root = BitMapBackend::new(tmp, (width, height)).into_drawing_area();
            draw(&root)?;
            // Encodes the PNG into `tmp` (the backend chooses the format by the extension).
            root.present().map_err(|e| e.to_string())
        }));
        match drawn {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(io_or_draw(why)),
            Err(_) => Err(PlotErrorKind::Draw("the drawing library panicked".into())),
        }
    })
}

/// The bitmap backend reports I/O errors as text; keep them recognisable as I/O.
fn io_or_draw(why: String) -> PlotErrorKind {
    if why.contains("IoError") || why.contains("IOError") {
        PlotErrorKind::Io(io::Error::other(why))
    } else {
        PlotErrorKind::Draw(why)
    }
}

fn check_size(width: u32, height: u32) -> Result<(), PlotErrorKind> {
    let ok = (MIN_SIZE.0..=MAX_SIDE).contains(&width) && (MIN_SIZE.1..=MAX_SIDE).contains(&height);
    if ok {
        Ok(())
    } else {
        Err(PlotErrorKind::Size { width, height })
    }
}

// ---------------------------------------------------------------------------------------------
// Drawing

/// The family name the embedded font is registered under with plotters.
const FONT: &str = "bpnet-dejavu-sans";
/// DejaVu Sans, cut down to the characters charts use; see `assets/fonts/LICENSE-DejaVu.txt`.
static FONT_BYTES: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-subset.ttf");

/// Registers the embedded font with plotters, once per process.
fn font() -> Result<(), String> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok {
        Ok(())
    } else {
        Err("the embedded font does not load".into())
    }
}

/// Sizes of text, margins and label areas, scaled with the image: designed for 800×500 pixels,
/// no smaller than half that.
#[derive(Clone, Copy)]
struct Scale(f64);

impl Scale {
    fn of(width: u32, height: u32) -> Self {
        Scale(
            (width as f64 / 800.0)
                .min(height as f64 / 500.0)
                .clamp(0.5, 4.0),
        )
    }

    /// `pixels` at 800×500, scaled.
    fn px(self, pixels: u32) -> u32 {
        (pixels as f64 * self.0).round().max(1.0) as u32
    }

    fn text(self, size: u32) -> TextStyle<'static> {
        (FONT, self.px(size).max(9)).into_font().color(&BLACK)
    }
}

const GREY_LINES: RGBColor = RGBColor(220, 220, 220);
const LIGHT_LINES: RGBColor = RGBColor(242, 242, 242);
const NO_VALUE: RGBColor = RGBColor(190, 190, 190);

/// Line colours for the series, in order (then again from the first).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The viridis colour map at `t` in [0, 1], interpolated between eight of its colours.
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 8] = [
        (68, 1, 84),
        (70, 50, 127),
        (54, 92, 141),
        (39, 127, 143),
        (31, 162, 136),
        (74, 194, 110),
        (160, 219, 57),
        (254, 232, 37),
    ];
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// `lo..hi` with 5% room either way, or a unit of room around a single value.
fn pad_linear(lo: f64, hi: f64) -> Range<f64> {
    if hi > lo {
        let pad = 0.05 * (hi - lo);
        lo - pad..hi + pad
    } else {
        let pad = if lo == 0.0 { 1.0 } else { 0.1 * lo.abs() };
        lo - pad..hi + pad
    }
}

/// A logarithmic axis around `lo..hi` (both positive) with a power of ten on it to label: a
/// little room either way, widened to the enclosing powers of ten if none falls inside.
fn log_range(lo: f64, hi: f64) -> Range<f64> {
    // (The smallest subnormal divided by 1.2 is 0, which has no logarithm.)
    let (lo, hi) = (Some(lo / 1.2).filter(|&l| l > 0.0).unwrap_or(lo), hi * 1.2);
    let (below, above) = (lo.log10().ceil(), hi.log10().floor());
    if below <= above {
        lo..hi
    } else {
        10f64.powf(lo.log10().floor())..10f64.powf(hi.log10().ceil())
    }
}

/// The range if both ends and its length are finite.
fn finite_range(r: Range<f64>) -> Option<Range<f64>> {
    (r.end - r.start).is_finite().then_some(r)
}

/// A tick label: up to four significant digits without trailing zeros, or `2.5e-4` style for
/// very small and very large magnitudes.
fn number(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.1e}");
        return s.replace(".0e", "e");
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" { "0".into() } else { s.into() }
}

fn draw_curves(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    series: &[(&str, &[f64])],
    o: &CurveOptions,
    x_range: Range<f64>,
    y_range: Range<f64>,
    drawable: &dyn Fn(f64) -> bool,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let sc = Scale::of(o.width, o.height);
    let mut builder = ChartBuilder::on(root);
    builder
        .margin(sc.px(16))
        .x_label_area_size(sc.px(48))
        .y_label_area_size(sc.px(72));
    if !o.title.is_empty() {
        builder.caption(&o.title, sc.text(22));
    }
    if o.log_scale {
        let chart = builder
            .build_cartesian_2d(x_range, y_range.log_scale())
            .map_err(|e| e.to_string())?;
        finish_curves(chart, series, o, sc, drawable)
    } else {
        let chart = builder
            .build_cartesian_2d(x_range, y_range)
            .map_err(|e| e.to_string())?;
        finish_curves(chart, series, o, sc, drawable)
    }
}

fn finish_curves<'a, Y>(
    mut chart: ChartContext<'a, BitMapBackend<'a>, Cartesian2d<RangedCoordf64, Y>>,
    series: &[(&str, &[f64])],
    o: &CurveOptions,
    sc: Scale,
    drawable: &dyn Fn(f64) -> bool,
) -> Result<(), String>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let fmt = |v: &f64| number(*v);
    // No more labels than values, so that a short run of epochs is not labelled 1.2, 1.4, …
    let longest = series.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    chart
        .configure_mesh()
        .x_labels(longest.clamp(2, 10))
        .x_desc(&o.x_label)
        .y_desc(&o.y_label)
        .label_style(sc.text(14))
        .axis_desc_style(sc.text(16))
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .bold_line_style(GREY_LINES)
        // On a logarithmic scale the light lines mark 2, 3, … 9 times each power of ten.
        .light_line_style(if o.log_scale { LIGHT_LINES } else { WHITE })
        .draw()
        .map_err(|e| e.to_string())?;
    let mut labelled = 0;
    // Where the lines pass, in pixels, to put the legend where they do not.
    let mut passes: Vec<(i32, i32)> = Vec::new();
    for (i, (name, values)) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let style = color.stroke_width(sc.px(2));
        let x = |j: usize| o.x_start + j as f64 * o.x_step;
        // The runs of drawable values: a line each, a dot for a run of one.
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut run = Vec::new();
        for (j, &v) in values.iter().enumerate() {
            if drawable(v) {
                run.push((x(j), v));
            } else if !run.is_empty() {
                runs.push(std::mem::take(&mut run));
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        let mut legend_done = false;
        for run in &runs {
            let pixels: Vec<(i32, i32)> = run.iter().map(|p| chart.backend_coord(p)).collect();
            passes.extend(pixels.windows(2).flat_map(|w| {
                let ((x0, y0), (x1, y1)) = (w[0], w[1]);
                (0..8).map(move |k| (x0 + (x1 - x0) * k / 8, y0 + (y1 - y0) * k / 8))
            }));
            passes.extend(pixels.last());
            let annotation = if run.len() == 1 {
                let dot = Circle::new(run[0], sc.px(3), color.filled());
                chart.draw_series(std::iter::once(dot))
            } else {
                chart.draw_series(LineSeries::new(run.iter().copied(), style))
            }
            .map_err(|e| e.to_string())?;
            if !legend_done && !name.is_empty() {
                annotation.label(*name).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + sc.px(20) as i32, y)], style)
                });
                legend_done = true;
                labelled += 1;
            }
        }
    }
    if labelled > 0 {
        // The legend goes in the corner that the fewest lines cross, upper right if a tie.
        let longest = series.iter().map(|(name, _)| name.chars().count()).max();
        let width = sc.px(8 * longest.unwrap_or(0) as u32 + 60) as i32;
        let height = sc.px(20 * labelled + 20) as i32;
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        let (left, right) = (xs.start..xs.start + width, xs.end - width..xs.end);
        let (top, bottom) = (ys.start..ys.start + height, ys.end - height..ys.end);
        let corners = [
            (SeriesLabelPosition::UpperRight, &right, &top),
            (SeriesLabelPosition::LowerLeft, &left, &bottom),
            (SeriesLabelPosition::UpperLeft, &left, &top),
            (SeriesLabelPosition::LowerRight, &right, &bottom),
        ];
        let crossings = |xr: &Range<i32>, yr: &Range<i32>| {
            passes
                .iter()
                .filter(|(x, y)| xr.contains(x) && yr.contains(y))
                .count()
        };
        let position = corners
            .into_iter()
            .min_by_key(|(_, xr, yr)| crossings(xr, yr))
            .map_or(SeriesLabelPosition::UpperRight, |(p, _, _)| p);
        chart
            .configure_series_labels()
            .label_font(sc.text(14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .position(position)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn draw_heat_map(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    values: &[f64],
    (rows, cols): (usize, usize),
    o: &HeatMapOptions,
    x_range: Range<f64>,
    y_range: Range<f64>,
    scale: Range<f64>,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let sc = Scale::of(o.width, o.height);
    let label_width = sc.px(if o.value_label.is_empty() { 48 } else { 76 });
    let bar_width = sc.px(30) + label_width;
    let (main, bar) = root.split_horizontally(o.width - bar_width);

    let mut builder = ChartBuilder::on(&main);
    builder
        .margin(sc.px(16))
        .x_label_area_size(sc.px(48))
        .y_label_area_size(sc.px(64));
    if !o.title.is_empty() {
        builder.caption(&o.title, sc.text(22));
    }
    let mut chart = builder
        .build_cartesian_2d(x_range.clone(), y_range.clone())
        .map_err(err)?;
    let (x0, y0) = (x_range.start, y_range.start);
    let dx = (x_range.end - x_range.start) / cols as f64;
    let dy = (y_range.end - y_range.start) / rows as f64;
    let colour = |v: f64| {
        if v.is_finite() {
            viridis((v - scale.start) / (scale.end - scale.start))
        } else {
            NO_VALUE
        }
    };
    chart
        .draw_series((0..rows).flat_map(|r| {
            (0..cols).map(move |c| {
                let corner = |i: usize, j: usize| (x0 + j as f64 * dx, y0 + i as f64 * dy);
                let fill = colour(values[r * cols + c]).filled();
                Rectangle::new([corner(r, c), corner(r + 1, c + 1)], fill)
            })
        }))
        .map_err(err)?;
    let fmt = |v: &f64| number(*v);
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(&o.x_label)
        .y_desc(&o.y_label)
        .label_style(sc.text(14))
        .axis_desc_style(sc.text(16))
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .draw()
        .map_err(err)?;

    // The colour scale, as tall as the plotting area beside it, drawn in the bar's pixels.
    let (_, plot_y) = chart.plotting_area().get_pixel_range();
    let (top, bottom) = (plot_y.start, plot_y.end - 1);
    let (left, right) = (sc.px(8) as i32, sc.px(8 + 22) as i32);
    let height = (bottom - top).max(1);
    for y in top..=bottom {
        let t = (bottom - y) as f64 / height as f64;
        bar.draw(&PathElement::new(
            [(left, y), (right, y)],
            viridis(t).stroke_width(1),
        ))
        .map_err(err)?;
    }
    bar.draw(&Rectangle::new(
        [(left, top), (right, bottom)],
        BLACK.stroke_width(1),
    ))
    .map_err(err)?;
    let tick = sc.px(5) as i32;
    let label_style = sc.text(13).pos(Pos::new(HPos::Left, VPos::Center));
    for v in nice_ticks(scale.start, scale.end, 6) {
        let y =
            bottom - ((v - scale.start) / (scale.end - scale.start) * height as f64).round() as i32;
        // Ticks inside the bar, so that none reads as a minus sign before its number.
        for (a, b) in [(left, left + tick), (right - tick, right)] {
            bar.draw(&PathElement::new([(a, y), (b, y)], BLACK.stroke_width(1)))
                .map_err(err)?;
        }
        bar.draw(&Text::new(
            number(v),
            (right + sc.px(6) as i32, y),
            label_style.clone(),
        ))
        .map_err(err)?;
    }
    if !o.value_label.is_empty() {
        let style = sc
            .text(15)
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        let x = bar_width as i32 - sc.px(4) as i32;
        bar.draw(&Text::new(
            o.value_label.clone(),
            (x, (top + bottom) / 2),
            style,
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// Round values from `lo` to `hi` for the ticks of an axis, at most about `count` of them: steps
/// of 1, 2, 2.5 or 5 times a power of ten.
fn nice_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let raw = (hi - lo) / count.max(1) as f64;
    if !(raw.is_finite() && raw > 0.0) {
        return Vec::new();
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step - 1e-9).ceil();
    (0..=count + 1)
        .map(|i| (first + i as f64) * step)
        .take_while(|&v| v <= hi + step * 1e-9)
        // -0.0 and values off by an ulp print as round numbers.
        .map(|v| if v.abs() < step * 1e-9 { 0.0 } else { v })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_the_message() {
        let e = PlotError::new(Path::new("loss.png"), PlotErrorKind::NoData);
        assert!(format!("{e:?}").starts_with(&e.to_string()));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(1.0), "1");
        assert_eq!(number(-4.0), "-4");
        assert_eq!(number(123.456), "123.5");
        assert_eq!(number(0.0001), "1e-4");
        assert_eq!(number(2.5e-4), "2.5e-4");
        assert_eq!(number(1e6), "1e6");
    }

    #[test]
    fn viridis_ends_and_clamps() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(254, 232, 37));
        assert_eq!(viridis(-3.0), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        assert_ne!(viridis(0.5), viridis(0.6));
    }

    #[test]
    fn padding_keeps_ranges_open() {
        assert_eq!(pad_linear(0.0, 0.0), -1.0..1.0);
        let r = pad_linear(2.0, 2.0);
        assert!(r.start < 2.0 && r.end > 2.0);
        let r = pad_linear(0.0, 10.0);
        assert_eq!(r, -0.5..10.5);
        assert!(finite_range(-f64::MAX..f64::MAX).is_none());
    }

    #[test]
    fn log_ranges_have_a_power_of_ten_to_label() {
        let has_power = |r: &Range<f64>| r.start.log10().ceil() <= r.end.log10().floor();
        for (lo, hi) in [
            (0.3, 0.9),
            (0.016, 1.0),
            (2.0, 2.0),
            (1e-6, 5e-6),
            (0.5, 2.0),
        ] {
            let r = log_range(lo, hi);
            assert!(r.start > 0.0 && r.start < lo && r.end > hi, "{r:?}");
            assert!(has_power(&r), "{lo}..{hi}: {r:?}");
        }
        // Within one decade: widened to it.
        let r = log_range(0.3, 0.7);
        assert!(
            (r.start - 0.1).abs() < 1e-12 && (r.end - 1.0).abs() < 1e-12,
            "{r:?}"
        );
        // Spanning a power of ten already: only a little room.
        assert_eq!(log_range(0.06, 5.0), 0.05..6.0);
        assert!(log_range(5e-324, 1.0).start > 0.0);
    }

    #[test]
    fn ticks_are_round_and_inside() {
        let close = |a: &[f64], b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
        };
        let t = nice_ticks(0.0, 1.0, 5);
        assert!(close(&t, &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]), "{t:?}");
        let t = nice_ticks(0.0, 2.25, 6);
        assert!(close(&t, &[0.0, 0.5, 1.0, 1.5, 2.0]), "{t:?}");
        let t = nice_ticks(-1.0, 1.0, 4);
        assert!(close(&t, &[-1.0, -0.5, 0.0, 0.5, 1.0]), "{t:?}");
        assert_eq!(t[2].to_bits(), 0.0f64.to_bits()); // not -0
        let t = nice_ticks(0.3, 0.35, 6);
        assert!(close(&t, &[0.3, 0.31, 0.32, 0.33, 0.34, 0.35]), "{t:?}");
        assert!(nice_ticks(1.0, 1.0, 6).is_empty());
        assert!(nice_ticks(0.0, f64::INFINITY, 6).is_empty());
        for (lo, hi) in [(-3.7, 12.2), (1e-9, 3e-9), (1e6, 1e9)] {
            let t = nice_ticks(lo, hi, 6);
            assert!((2..=8).contains(&t.len()), "{t:?}");
            let slack = 1e-9 * (hi - lo);
            assert!(
                t.iter().all(|&v| v >= lo - slack && v <= hi + slack),
                "{t:?}"
            );
        }
    }
}
