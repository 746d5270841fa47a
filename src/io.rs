//! Saving and loading a network's parameters as [safetensors], so that the file also opens in
//! PyTorch (`safetensors.torch.load_file`), NumPy or any other safetensors reader.
//!
//! # The file
//!
//! One tensor per module that has parameters, keyed by the module's path in the declaration:
//!
//! | module | key | shape |
//! | --- | --- | --- |
//! | `linear1: linear(x -> 4)`, `x: 2` | `linear1.weight` | `[4, 2]`: `[out, in]`, the pool's row-major `W` (PyTorch's `nn.Linear` layout) |
//! | `tanh1: tanh(sum1)`, width 4 (any activation with biases) | `tanh1.bias` | `[4]` |
//! | `c1: conv(x, maps = 6, kernel = 5)`, `x: [1, 32, 32]` | `c1.weight`, `c1.bias` | `[6, 1, 5, 5]` (PyTorch's `nn.Conv2d` layout), `[6]` |
//! | `s2: subsample(c1, size = 2)`, 6 maps | `s2.weight`, `s2.bias` | `[6]`, `[6]`: the coefficient and the bias of each map |
//! | `initial h = learned`, width 3 | `h_initial.value` | `[3]` |
//! | a nested network `layer1: NnLayer(x)` | `layer1.linear.weight`, `layer1.sigmoid.bias`, … | as above, one level down |
//! | any other module with parameters (a user module) | `scale.params` | `[Scale::PARAMS]`, flat |
//!
//! Modules without parameters (`add`, `euclidean`, `sum`, `last`) have no tensor. The element type
//! is `F32` or `F64`, the network's float, little-endian as the format requires. Names and shapes
//! come from the network's [`ModuleInfo`]s and [`StateInfo`]s ([`param_tensors`] lists them): a
//! linear module's widths are its states' widths, and inside a nested network (whose states the
//! outer network does not list) they are worked out from the graph; a linear weight whose widths
//! cannot be worked out is stored flat, `[len]`, under the same key.
//!
//! Besides the parameters a file can hold *extras*: named 1-D tensors given by the caller (an
//! input normaliser's `normalize.mean` and `normalize.scale`, say), stored under exactly those
//! names, and string metadata. Every file records `format = pt` (what PyTorch tooling expects),
//! `bpnet.version`, `bpnet.float` (`f32` or `f64`), `bpnet.extras` (the extras' names, comma
//! separated, when there are any), `bpnet.crc32` (the checksum, below) and, when saved through
//! [`save`], `bpnet.network` (the type's name).
//!
//! The file is the same, byte for byte, every time the same parameters, extras and metadata are
//! saved (whatever the order the metadata is given in): the tensors are ordered as the
//! safetensors crate orders them (by dtype, then by name) and the metadata keys are sorted, so a
//! model file can be checksummed, diffed and cached by its hash.
//!
//! # Rust source, for builds without std
//!
//! [`export_rust`] writes the parameters as a Rust file instead, `pub static PARAMS: [f32; N]`,
//! for a program without std or a file system to `include!` beside the same `network!`
//! declaration (see the README's "Deploy without std").
//!
//! # Guarantees
//!
//! - **Atomic writes.** The file is written to a temporary file in the target's directory, flushed
//!   to disk (`sync_all`), then renamed over the target (and, on Unix, the directory is synced):
//!   a crash or an error never leaves a half-written model, and never destroys the previous file.
//!   The new file keeps the old one's permissions, and a read-only file is refused, not replaced
//!   (see [`save_params`]).
//! - **Strict loads.** Every tensor of the network must be in the file with the network's dtype
//!   and exactly its shape; every other tensor must be a listed extra. Truncated, corrupted and
//!   foreign files are reported as a [`LoadError`], never a panic, and the network is changed only
//!   when the whole file has been checked.
//! - **Checksummed values.** The safetensors format has no checksum, so bpnet stores one:
//!   `bpnet.crc32` is the CRC32 (IEEE, as zlib and `crc32` compute it) of the file's whole data
//!   section, every tensor's bytes (parameters and extras), written as 8 lower-case hex digits.
//!   Loading recomputes it, and a damaged value (a flipped bit on a disk or in a transfer) is a
//!   [`LoadError::Checksum`]; a malformed `bpnet.crc32` is a [`LoadError::Corrupted`]. The
//!   header (names, shapes, the other metadata) is not covered: damage there is caught only as
//!   far as it breaks the format or no longer matches the network. A file without `bpnet.crc32`
//!   (written by PyTorch or any other tool) loads without this check.
//! - **Finite values only.** Both [`save`] and [`load`] refuse a NaN or an infinity in a parameter
//!   or an extra ([`SaveError::NonFinite`], [`LoadError::NonFinite`]): a diverged training run
//!   cannot overwrite the last good model, and a damaged file cannot put a NaN into a network.
//!
//! ```
//! use bpnet::prelude::*;
//!
//! network! {
//!     pub struct TwoLayer {
//!         input  x: 2;
//!         target y: 1;
//!         sum1   = linear1: linear(x -> 4);
//!         hidden = tanh1: tanh(sum1);
//!         sum2   = linear2: linear(hidden -> 1);
//!         out    = tanh2: tanh(sum2);
//!         energy = euclidean(out, y);
//!     }
//! }
//!
//! let path = std::env::temp_dir().join(format!("bpnet-doc-io-{}.safetensors", std::process::id()));
//! let net = TwoLayer::new(&mut StdRng::seed_from_u64(0));
//! let mean = [0.5_f32, -0.25];
//! bpnet::io::save(&path, &net, &[("normalize.mean", &mean)], &[("epochs", "100")])?;
//!
//! let mut copy = TwoLayer::new(&mut StdRng::seed_from_u64(1));
//! let loaded = bpnet::io::load(&path, &mut copy)?;
//! assert_eq!(copy.params(), net.params());
//! assert_eq!(loaded.extra("normalize.mean"), Some(&mean[..]));
//! assert_eq!(loaded.metadata["epochs"], "100");
//! assert_eq!(loaded.metadata["bpnet.network"], "TwoLayer");
//!
//! // The keys and shapes any safetensors reader sees:
//! let names: Vec<_> = bpnet::io::param_tensors(TwoLayer::MODULES, TwoLayer::STATES)
//!     .into_iter()
//!     .map(|t| (t.name, t.shape))
//!     .collect();
//! assert_eq!(names[0], ("linear1.weight".to_string(), vec![4, 2]));
//! assert_eq!(names[1], ("tanh1.bias".to_string(), vec![4]));
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A network without an energy (a module network, or one with only an `output`) does not
//! implement [`Network`]; its inherent `MODULES`, `STATES`, `params()` and `params_mut()` go to
//! [`save_params`] and [`load_params`].
//!
//! [safetensors]: https://huggingface.co/docs/safetensors

use core::fmt;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use bpnet_runtime::{Float, ModuleInfo, Network, StateInfo};

mod rust;
pub use rust::{export_rust, export_rust_params, rust_source};
use safetensors::tensor::{Metadata, TensorView};
use safetensors::{Dtype, SafeTensorError, SafeTensors};

/// The metadata key under which the extras' names are listed.
const EXTRAS_KEY: &str = "bpnet.extras";
/// The metadata key of the network's name.
const NETWORK_KEY: &str = "bpnet.network";
/// The metadata key of the checksum: the CRC32 of the data section, 8 lower-case hex digits.
const CRC_KEY: &str = "bpnet.crc32";
/// Metadata keys that [`save_params`] writes itself.
const RESERVED_KEYS: [&str; 5] = [
    "format",
    "bpnet.version",
    "bpnet.float",
    EXTRAS_KEY,
    CRC_KEY,
];
/// The largest header the safetensors format allows (as its reference implementation).
const MAX_HEADER: u64 = 100_000_000;

/// One tensor of a network's parameters in a saved file: its key, where its values start in the
/// pool, and its shape (its values are the `shape.iter().product()` values from `offset` on, in
/// row-major order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    /// The key, by module path: `linear1.weight`, `layer1.sigmoid.bias`, `scale.params`.
    pub name: String,
    /// Offset of its first value in the pool.
    pub offset: usize,
    /// Its shape: `[out, in]` for a linear weight, `[n]` otherwise.
    pub shape: Vec<usize>,
}

impl TensorSpec {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether it has no values (never the case for a tensor listed by [`param_tensors`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its range in the pool.
    pub fn range(&self) -> core::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// The tensors a network's parameters are saved as, in the order of its modules: names and shapes
/// from its `MODULES` and `STATES` (see the [module documentation](self) for the naming rules).
///
/// Modules without parameters have no tensor. The list describes the pool only if the modules tile
/// it, which [`save_params`] and [`load_params`] check (every network `network!` generates does).
pub fn param_tensors(modules: &[ModuleInfo], states: &[StateInfo]) -> Vec<TensorSpec> {
    let mut widths: HashMap<&str, usize> = states.iter().map(|s| (s.name, s.width)).collect();
    let mut out = Vec::new();
    describe(modules, &mut widths, "", 0, &mut out);
    out
}

/// Appends the tensors of one network level (offsets relative to `base`) to `out`.
fn describe<'a>(
    modules: &'a [ModuleInfo],
    widths: &mut HashMap<&'a str, usize>,
    prefix: &str,
    base: usize,
    out: &mut Vec<TensorSpec>,
) {
    infer_widths(modules, widths);
    for m in modules {
        if m.len == 0 {
            continue;
        }
        let offset = base.saturating_add(m.offset);
        let key = |param: &str| format!("{prefix}{}.{param}", m.name);
        let flat = |param: &str| TensorSpec {
            name: key(param),
            offset,
            shape: vec![m.len],
        };
        if !m.tensors.is_empty() {
            named(m, &key, offset, out);
            continue;
        }
        // A `ModuleInfo` written by hand (without `tensors`): named by the kinds' rules.
        match m.kind {
            "linear" => {
                let dims = match (m.inputs, widths.get(m.output)) {
                    (&[input], Some(&o)) => widths.get(input).map(|&i| (o, i)),
                    _ => None,
                };
                out.push(match dims {
                    Some((o, i)) if o.checked_mul(i) == Some(m.len) => TensorSpec {
                        name: key("weight"),
                        offset,
                        shape: vec![o, i],
                    },
                    _ => flat("weight"),
                });
            }
            "tanh" | "sigmoid" | "scaled_tanh" => out.push(flat("bias")),
            "initial" => out.push(flat("value")),
            _ if !m.children.is_empty() => {
                let mut inner = HashMap::new();
                // A nested network reads one state no module of its own writes (its input), and
                // writes one state none of its modules reads (its output).
                let written: HashSet<&str> = m.children.iter().map(|c| c.output).collect();
                let read: HashSet<&str> = m
                    .children
                    .iter()
                    .flat_map(|c| c.inputs.iter().copied())
                    .collect();
                let only = |set: Vec<&'a str>| (set.len() == 1).then(|| set[0]);
                let input = only(read.difference(&written).copied().collect());
                let output = only(written.difference(&read).copied().collect());
                if let (Some(inner_in), &[outer_in]) = (input, m.inputs)
                    && let Some(&w) = widths.get(outer_in)
                {
                    inner.insert(inner_in, w);
                }
                if let (Some(inner_out), Some(&w)) = (output, widths.get(m.output)) {
                    inner.insert(inner_out, w);
                }
                let mut children = Vec::new();
                describe(
                    m.children,
                    &mut inner,
                    &format!("{prefix}{}.", m.name),
                    offset,
                    &mut children,
                );
                if tiles(&children, offset, offset.saturating_add(m.len)).is_ok() {
                    out.extend(children);
                } else {
                    out.push(flat("params"));
                }
            }
            _ => out.push(flat("params")),
        }
    }
}

/// The tensors a module lists itself (every built-in kind of `network!`), one after another from
/// `offset`.
fn named(m: &ModuleInfo, key: &dyn Fn(&str) -> String, offset: usize, out: &mut Vec<TensorSpec>) {
    let mut at = offset;
    for (name, shape) in m.tensors {
        let spec = TensorSpec {
            name: key(name),
            offset: at,
            shape: shape.to_vec(),
        };
        at = at.saturating_add(spec.len());
        out.push(spec);
    }
}

/// Works out the widths of one level's states from those already known, by the kernels' rules.
fn infer_widths<'a>(modules: &'a [ModuleInfo], widths: &mut HashMap<&'a str, usize>) {
    loop {
        let mut changed = false;
        let mut set = |widths: &mut HashMap<&'a str, usize>, state: &'a str, w: usize| {
            if !widths.contains_key(state) {
                widths.insert(state, w);
                changed = true;
            }
        };
        for m in modules {
            let known = |widths: &HashMap<&'a str, usize>| {
                m.inputs
                    .iter()
                    .chain([&m.output])
                    .find_map(|s| widths.get(s).copied())
            };
            match (m.kind, m.inputs) {
                // Activations with biases: one per component, same width in and out.
                ("tanh" | "sigmoid" | "scaled_tanh", &[input]) => {
                    set(widths, input, m.len);
                    set(widths, m.output, m.len);
                }
                ("initial", _) => set(widths, m.output, m.len),
                ("add" | "sum" | "last", _) => {
                    if let Some(w) = known(widths) {
                        for &s in m.inputs.iter().chain([&m.output]) {
                            set(widths, s, w);
                        }
                    }
                }
                ("euclidean", _) => {
                    set(widths, m.output, 1);
                    if let Some(w) = m.inputs.iter().find_map(|s| widths.get(s).copied()) {
                        for &s in m.inputs {
                            set(widths, s, w);
                        }
                    }
                }
                // len = out × in.
                ("linear", &[input]) => {
                    let (i, o) = (widths.get(input).copied(), widths.get(m.output).copied());
                    match (i, o) {
                        (Some(i), None) if i > 0 && m.len % i == 0 => {
                            set(widths, m.output, m.len / i)
                        }
                        (None, Some(o)) if o > 0 && m.len % o == 0 => set(widths, input, m.len / o),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        if !changed {
            return;
        }
    }
}

/// Whether `tensors` cover `start..end` exactly once; otherwise why not.
fn tiles(tensors: &[TensorSpec], start: usize, end: usize) -> Result<(), String> {
    let mut sorted: Vec<&TensorSpec> = tensors.iter().collect();
    sorted.sort_by_key(|t| t.offset);
    let mut at = start;
    for t in sorted {
        if t.offset != at {
            return Err(format!(
                "`{}` starts at {} in the pool, where {at} was expected",
                t.name, t.offset
            ));
        }
        at = t
            .offset
            .checked_add(t.len())
            .ok_or_else(|| format!("`{}` ends past the largest index", t.name))?;
    }
    if at != end {
        return Err(format!(
            "the modules describe {} parameters, but the pool has {}",
            at - start,
            end - start
        ));
    }
    Ok(())
}

/// The checked tensors of a pool of `len` values.
fn layout(
    modules: &[ModuleInfo],
    states: &[StateInfo],
    len: usize,
) -> Result<Vec<TensorSpec>, String> {
    let tensors = param_tensors(modules, states);
    tiles(&tensors, 0, len)?;
    let mut names = HashSet::new();
    if let Some(t) = tensors.iter().find(|t| !names.insert(t.name.as_str())) {
        return Err(format!("two tensors are named `{}`", t.name));
    }
    Ok(tensors)
}

/// Why a network could not be saved. The target file, if it existed, is unchanged.
///
/// `Debug` prints the message, as `Display`, so `main` returning the error shows it.
#[non_exhaustive]
pub enum SaveError {
    /// Writing failed: the directory does not exist, a component of the path is a file, the disk
    /// is full, permission was denied, the file is read-only (see [`save_params`]), …
    Io {
        /// The file being saved.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The modules given do not describe the parameters (their tensors do not cover the pool
    /// exactly once). Never the case for a network's own `MODULES` and `params()`.
    Layout {
        /// What does not match.
        reason: String,
    },
    /// An extra's name or a metadata key cannot be used: empty, a duplicate, a parameter's key,
    /// a key the file format or bpnet reserves, or (for an extra) a name containing a comma.
    Name {
        /// The offending name.
        name: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// A parameter or an extra is NaN or infinite (a diverged training run, say).
    NonFinite {
        /// The tensor's key.
        name: String,
        /// The position of the first non-finite value in that tensor (row-major).
        index: usize,
    },
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaveError::Io { path, source } => {
                write!(f, "cannot save to `{}`: {source}", path.display())
            }
            SaveError::Layout { reason } => {
                write!(f, "the modules do not describe the parameters: {reason}")
            }
            SaveError::Name { name, reason } => write!(f, "cannot store `{name}`: {reason}"),
            SaveError::NonFinite { name, index } => write!(
                f,
                "tensor `{name}` is not finite at index {index}; nothing was saved"
            ),
        }
    }
}

bpnet_runtime::debug_as_display!(SaveError, LoadError);

impl std::error::Error for SaveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SaveError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why a file could not be loaded into a network. The network is unchanged.
///
/// `Debug` prints the message, as `Display`, so `main` returning the error shows it.
#[non_exhaustive]
pub enum LoadError {
    /// Reading failed: no such file, permission denied, …
    Io {
        /// The file being loaded.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file does not begin like a safetensors file (an 8-byte header length, then a JSON
    /// object): it is some other kind of file.
    NotSafetensors {
        /// What was found instead.
        reason: String,
    },
    /// The file begins like a safetensors file but its header is damaged: not UTF-8 or not
    /// valid JSON, a number out of range, tensor offsets that are not contiguous or that disagree
    /// with the tensor's shape, bytes after the last tensor, or a `bpnet.crc32` that is not 8
    /// lower-case hex digits.
    Corrupted {
        /// What is wrong.
        reason: String,
    },
    /// The file ends before the length its header announces (or before its header does).
    Truncated {
        /// The length the file needs, at least (its whole length when the header could be read).
        expected: u64,
        /// Its length.
        found: u64,
    },
    /// A tensor of the network (or an extra the header lists) is not in the file.
    Missing {
        /// Its key.
        name: String,
    },
    /// The file has a tensor that is neither one of the network's nor a listed extra (a file
    /// saved from another network, say).
    Unexpected {
        /// Its key.
        name: String,
    },
    /// A tensor's shape differs from the network's.
    Shape {
        /// Its key.
        name: String,
        /// The network's shape.
        expected: Vec<usize>,
        /// The file's.
        found: Vec<usize>,
    },
    /// A tensor's element type differs from the network's float (`F32` for `f32`, `F64` for
    /// `f64`; no conversion is made).
    Dtype {
        /// Its key.
        name: String,
        /// The network's dtype: `F32` or `F64`.
        expected: &'static str,
        /// The file's, as safetensors names it (`F32`, `BF16`, `I64`, …).
        found: String,
    },
    /// A tensor holds a NaN or an infinity.
    NonFinite {
        /// Its key.
        name: String,
        /// The position of the first non-finite value (row-major).
        index: usize,
    },
    /// The tensors' bytes do not match the checksum saved with them (the file's `bpnet.crc32`):
    /// the file was damaged after it was written (a disk or a transfer error), or its tensors
    /// were changed by a tool that kept bpnet's metadata. Checked before any value is decoded.
    Checksum {
        /// The CRC32 the file records.
        expected: u32,
        /// The CRC32 of its data section as read.
        found: u32,
    },
    /// The modules given do not describe the parameters (their tensors do not cover the pool
    /// exactly once). Never the case for a network's own `MODULES` and `params_mut()`.
    Layout {
        /// What does not match.
        reason: String,
    },
    /// The file was saved from another network: [`load`] found a tensor missing, unexpected or
    /// of another shape or dtype, and the file's `bpnet.network` names another type than the
    /// one loaded into. The mismatch is kept (and is the [`source`](std::error::Error::source))
    /// so that the message says both what the file is and where it first differs.
    OtherNetwork {
        /// The network the file was saved from (its `bpnet.network`).
        file: String,
        /// The network it was loaded into.
        network: String,
        /// The first mismatch: [`LoadError::Missing`], [`LoadError::Unexpected`],
        /// [`LoadError::Shape`] or [`LoadError::Dtype`].
        mismatch: Box<LoadError>,
    },
}

impl LoadError {
    /// `self` wrapped in [`LoadError::OtherNetwork`] if it is a mismatch of the file's tensors
    /// with the network's and the file names another `network` than the one loaded into.
    fn in_network(self, network: Option<&str>, metadata: &BTreeMap<String, String>) -> Self {
        let mismatch = matches!(
            self,
            LoadError::Missing { .. }
                | LoadError::Unexpected { .. }
                | LoadError::Shape { .. }
                | LoadError::Dtype { .. }
        );
        match (network, metadata.get(NETWORK_KEY)) {
            (Some(network), Some(file)) if mismatch && file != network => LoadError::OtherNetwork {
                file: file.clone(),
                network: network.to_string(),
                mismatch: Box::new(self),
            },
            _ => self,
        }
    }
}

/// The message of [`LoadError::Unexpected`], without a guess at the cause.
fn unexpected(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    write!(f, "the file has a tensor `{name}` the network does not")
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, source } => {
                write!(f, "cannot read `{}`: {source}", path.display())
            }
            LoadError::NotSafetensors { reason } => {
                write!(f, "not a safetensors file: {reason}")
            }
            LoadError::Corrupted { reason } => write!(f, "corrupted safetensors file: {reason}"),
            LoadError::Truncated { expected, found } => write!(
                f,
                "truncated safetensors file: {found} bytes, but it needs at least {expected}"
            ),
            LoadError::Missing { name } => {
                write!(f, "tensor `{name}` of the network is not in the file")
            }
            LoadError::Unexpected { name } => {
                unexpected(f, name)?;
                write!(f, " (saved from another network?)")
            }
            LoadError::Shape {
                name,
                expected,
                found,
            } => write!(
                f,
                "tensor `{name}` has shape {found:?} in the file, but the network's is {expected:?}"
            ),
            LoadError::Dtype {
                name,
                expected,
                found,
            } => write!(
                f,
                "tensor `{name}` is {found} in the file, but the network's float is {expected}"
            ),
            LoadError::NonFinite { name, index } => {
                write!(f, "tensor `{name}` is not finite at index {index}")
            }
            LoadError::Checksum { expected, found } => write!(
                f,
                "damaged file: its tensors' CRC32 is {found:08x}, but it was saved as \
                 {expected:08x} (restore the file from a copy; if its tensors were changed on \
                 purpose, remove its `{CRC_KEY}` metadata)"
            ),
            LoadError::Layout { reason } => {
                write!(f, "the modules do not describe the parameters: {reason}")
            }
            LoadError::OtherNetwork {
                file,
                network,
                mismatch,
            } => {
                write!(
                    f,
                    "the file holds network `{file}`, not `{network}` (wrong file?): "
                )?;
                match mismatch.as_ref() {
                    // Without the guess at the cause, which this message answers.
                    LoadError::Unexpected { name } => unexpected(f, name),
                    m => write!(f, "{m}"),
                }
            }
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { source, .. } => Some(source),
            LoadError::OtherNetwork { mismatch, .. } => Some(mismatch.as_ref()),
            _ => None,
        }
    }
}

/// What a loaded file holds besides the parameters (which went into the network).
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded<F> {
    /// The extras, by name, in the order they were given to [`save`].
    pub extras: Vec<(String, Vec<F>)>,
    /// The file's string metadata: the caller's, and `format`, `bpnet.version`, `bpnet.float`,
    /// `bpnet.extras`, `bpnet.crc32`, `bpnet.network` where they were written.
    pub metadata: BTreeMap<String, String>,
}

impl<F> Loaded<F> {
    /// The extra named `name`, if the file has it.
    pub fn extra(&self, name: &str) -> Option<&[F]> {
        self.extras
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The extra named `name`, or [`LoadError::Missing`] (for an extra a caller cannot do without,
    /// as an input normaliser's mean).
    pub fn require(&self, name: &str) -> Result<&[F], LoadError> {
        self.extra(name).ok_or_else(|| LoadError::Missing {
            name: name.to_string(),
        })
    }
}

/// Saves a network's parameters to `path`, atomically, with the caller's `extras` (named 1-D
/// tensors in the network's float) and `metadata` (string pairs), and `bpnet.network` set to the
/// type's name unless `metadata` sets it.
///
/// See the [module documentation](self) for the keys, and [`save_params`] for the rules on names
/// and values.
pub fn save<N: Network>(
    path: impl AsRef<Path>,
    net: &N,
    extras: &[(&str, &[N::Float])],
    metadata: &[(&str, &str)],
) -> Result<(), SaveError> {
    let mut all = metadata.to_vec();
    if !metadata.iter().any(|&(k, _)| k == NETWORK_KEY) {
        all.push((NETWORK_KEY, network_name::<N>()));
    }
    save_params(path, N::MODULES, N::STATES, net.params(), extras, &all)
}

/// Loads a file written by [`save`] (or [`save_params`] with the same layout) into `net`'s
/// parameters, and returns its extras and metadata.
///
/// Every name, dtype and shape is checked against the network first; on any error `net` is
/// unchanged. See [`load_params`]; unlike it, a mismatch in a file whose `bpnet.network` names
/// another type is a [`LoadError::OtherNetwork`], which says so.
pub fn load<N: Network>(
    path: impl AsRef<Path>,
    net: &mut N,
) -> Result<Loaded<N::Float>, LoadError> {
    read_into(
        path.as_ref(),
        N::MODULES,
        N::STATES,
        net.params_mut(),
        Some(network_name::<N>()),
    )
}

/// The name [`save`] records in `bpnet.network`: the type's, without its module path.
fn network_name<N>() -> &'static str {
    let full = std::any::type_name::<N>();
    full.rsplit("::").next().unwrap_or(full)
}

/// Saves a pool of parameters described by `modules` and `states` (a network's `MODULES` and
/// `STATES`) to `path`, atomically, with `extras` and `metadata`.
///
/// Extras are stored under their own names as 1-D tensors; a name must be non-empty, contain no
/// comma, not start with `__`, and differ from the parameters' keys and from the other extras.
/// Metadata keys must be unique and must not be `format`, `bpnet.version`, `bpnet.float`,
/// `bpnet.extras` or `bpnet.crc32`, which are written here. Nothing is written if a name is refused
/// ([`SaveError::Name`]), the modules do not tile `params` ([`SaveError::Layout`]), or a value is
/// NaN or infinite ([`SaveError::NonFinite`]).
///
/// The file is first written in full to a temporary file next to `path` and synced to disk, then
/// renamed over `path`, then (on Unix) the directory is synced. On an error before the rename,
/// the temporary file is removed and `path` is untouched. An error syncing the directory after
/// the rename is reported too: the new file is then in place but may not survive a power cut.
/// A symbolic link at `path` is replaced by the file, not followed.
///
/// Saving over a file keeps its permissions (a `0600` model stays private); a new file gets the
/// usual mode, `0666` less the umask. A file that could not be written in place is refused,
/// unchanged, with a [`SaveError::Io`] of kind [`io::ErrorKind::PermissionDenied`] (renaming over
/// it needs only the right to write its directory): a read-only file (on Unix, no write bit in
/// its mode, as `0444`: the only rule for root, who may write any file) and, on Unix, a file
/// this process may not open for writing.
///
/// ```
/// use bpnet::prelude::*;
///
/// network! {
///     /// A module network: no energy, so no `Network` impl; its inherent items do the job.
///     pub struct Layer {
///         input  x: 3;
///         s      = lin: linear(x -> 2);
///         output o = act: tanh(s);
///     }
/// }
///
/// let path = std::env::temp_dir().join(format!("bpnet-doc-io-layer-{}.safetensors", std::process::id()));
/// let net = Layer::new(&mut StdRng::seed_from_u64(0));
/// bpnet::io::save_params(&path, Layer::MODULES, Layer::STATES, net.params(), &[], &[])?;
/// let mut copy = Layer::new(&mut StdRng::seed_from_u64(1));
/// bpnet::io::load_params(&path, Layer::MODULES, Layer::STATES, copy.params_mut())?;
/// assert_eq!(copy.params(), net.params());
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_params<F: Float>(
    path: impl AsRef<Path>,
    modules: &[ModuleInfo],
    states: &[StateInfo],
    params: &[F],
    extras: &[(&str, &[F])],
    metadata: &[(&str, &str)],
) -> Result<(), SaveError> {
    let path = path.as_ref();
    let tensors =
        layout(modules, states, params.len()).map_err(|reason| SaveError::Layout { reason })?;

    let refuse = |name: &str, reason| {
        Err(SaveError::Name {
            name: name.to_string(),
            reason,
        })
    };
    let mut names: HashSet<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    for &(name, _) in extras {
        if name.is_empty() {
            return refuse(name, "an extra needs a name");
        }
        if name.contains(',') {
            return refuse(name, "an extra's name cannot contain a comma");
        }
        if name.starts_with("__") {
            return refuse(name, "names starting with `__` are reserved by safetensors");
        }
        if tensors.iter().any(|t| t.name == name) {
            return refuse(name, "a parameter of the network has this key");
        }
        if !names.insert(name) {
            return refuse(name, "two extras have this name");
        }
    }
    let mut keys = HashSet::new();
    for &(key, _) in metadata {
        if RESERVED_KEYS.contains(&key) {
            return refuse(key, "this metadata key is written by bpnet");
        }
        if !keys.insert(key) {
            return refuse(key, "two metadata entries have this key");
        }
    }

    let check = |name: &str, values: &[F]| match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(SaveError::NonFinite {
            name: name.to_string(),
            index,
        }),
        None => Ok(()),
    };
    let dtype = dtype_of::<F>();
    let mut data: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for t in &tensors {
        let values = &params[t.range()];
        check(&t.name, values)?;
        data.push((t.name.clone(), t.shape.clone(), encode(values)));
    }
    for &(name, values) in extras {
        check(name, values)?;
        data.push((name.to_string(), vec![values.len()], encode(values)));
    }

    let mut info: BTreeMap<String, String> = metadata
        .iter()
        .map(|&(k, v)| (k.to_string(), v.to_string()))
        .collect();
    info.insert("format".into(), "pt".into());
    info.insert("bpnet.version".into(), env!("CARGO_PKG_VERSION").into());
    info.insert("bpnet.float".into(), F::NAME.into());
    if !extras.is_empty() {
        let list: Vec<&str> = extras.iter().map(|&(n, _)| n).collect();
        info.insert(EXTRAS_KEY.into(), list.join(","));
    }

    // The tensors without metadata: the safetensors crate orders them (by dtype, then name) and
    // lays out the data section, whose checksum then goes into the metadata.
    let refused = |reason: String| SaveError::Layout {
        reason: format!("safetensors refused the tensors: {reason}"),
    };
    let bytes = data
        .iter()
        .map(|(name, shape, bytes)| {
            Ok((name.as_str(), TensorView::new(dtype, shape.clone(), bytes)?))
        })
        .collect::<Result<Vec<_>, SafeTensorError>>()
        .and_then(|views| safetensors::serialize(views, None))
        .map_err(|e| refused(e.to_string()))?;
    let bytes = with_metadata(&bytes, info).map_err(refused)?;
    write_atomic(path, &bytes)
}

/// The file `bytes` (safetensors without metadata, as the crate serialises it) with `info` and
/// the checksum of its data section ([`CRC_KEY`]) as its metadata, keys sorted.
///
/// The safetensors crate writes its metadata from a `HashMap`, in an order that differs from one
/// run to the next; written here, from a sorted map, the same model is the same bytes.
fn with_metadata(bytes: &[u8], mut info: BTreeMap<String, String>) -> Result<Vec<u8>, String> {
    let n = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| bytes.len() - 8 >= n)
        .ok_or("its header length is out of range")?;
    let (header, data) = bytes[8..].split_at(n);
    let header = core::str::from_utf8(header)
        .map_err(|e| e.to_string())?
        .trim_end_matches(' ');
    // `{}` without tensors, `{"name":{…},…}` with.
    let tensors = header
        .strip_prefix('{')
        .and_then(|h| h.strip_suffix('}'))
        .ok_or("its header is not a JSON object")?;
    info.insert(CRC_KEY.into(), format!("{:08x}", crc32fast::hash(data)));
    let metadata = serde_json::to_string(&info).map_err(|e| e.to_string())?;
    let mut header = format!("{{\"__metadata__\":{metadata}");
    if !tensors.is_empty() {
        header.push(',');
        header.push_str(tensors);
    }
    header.push('}');
    // Padded with spaces to a multiple of 8 bytes, as the crate pads it (aligning the data).
    let len = header.len().next_multiple_of(8);
    if len as u64 > MAX_HEADER {
        return Err(format!(
            "the header would be {len} bytes (safetensors allows {MAX_HEADER})"
        ));
    }
    let mut out = Vec::with_capacity(8 + len + data.len());
    out.extend_from_slice(&(len as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.resize(8 + len, b' ');
    out.extend_from_slice(data);
    Ok(out)
}

/// Loads a file into a pool of parameters described by `modules` and `states` (a network's
/// `MODULES` and `STATES`, and its `params_mut()`), and returns the file's extras and metadata.
///
/// The whole file is read and checked before `params` is touched:
///
/// - it must be a complete, well-formed safetensors file ([`LoadError::NotSafetensors`],
///   [`LoadError::Corrupted`], [`LoadError::Truncated`]);
/// - every tensor of [`param_tensors`] must be there ([`LoadError::Missing`]) with the float's
///   dtype ([`LoadError::Dtype`]) and exactly its shape ([`LoadError::Shape`]), and so must every
///   extra the file's `bpnet.extras` lists (1-D, same dtype);
/// - the file must have no other tensor ([`LoadError::Unexpected`]);
/// - every value must be finite ([`LoadError::NonFinite`]).
///
/// Checks go in the order of the parameters, then the extras, then the unexpected tensors (by
/// name), and the first failure is reported. On any error `params` is unchanged.
pub fn load_params<F: Float>(
    path: impl AsRef<Path>,
    modules: &[ModuleInfo],
    states: &[StateInfo],
    params: &mut [F],
) -> Result<Loaded<F>, LoadError> {
    read_into(path.as_ref(), modules, states, params, None)
}

/// [`load_params`], with the name of the network loaded into when it is known (by [`load`]),
/// for [`LoadError::OtherNetwork`].
fn read_into<F: Float>(
    path: &Path,
    modules: &[ModuleInfo],
    states: &[StateInfo],
    params: &mut [F],
    network: Option<&str>,
) -> Result<Loaded<F>, LoadError> {
    let tensors =
        layout(modules, states, params.len()).map_err(|reason| LoadError::Layout { reason })?;
    let bytes = fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file = parse(&bytes)?;
    let metadata = file.metadata();
    check_crc(&file, &metadata)?;
    let mut scratch = vec![F::ZERO; params.len()];
    let extras = decode(&file, &tensors, &metadata, &mut scratch)
        .map_err(|e| e.in_network(network, &metadata))?;
    params.copy_from_slice(&scratch);
    Ok(Loaded { extras, metadata })
}

/// Checks the data section of a parsed file against its `bpnet.crc32`, if it has one.
fn check_crc(file: &Parsed<'_>, metadata: &BTreeMap<String, String>) -> Result<(), LoadError> {
    let Some(stored) = metadata.get(CRC_KEY) else {
        return Ok(());
    };
    let expected = Some(stored)
        .filter(|s| s.len() == 8 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .and_then(|s| u32::from_str_radix(s, 16).ok())
        .ok_or_else(|| {
            let shown: String = stored.chars().take(20).collect();
            let more = if shown.len() < stored.len() {
                "…"
            } else {
                ""
            };
            LoadError::Corrupted {
                reason: format!(
                    "its `{CRC_KEY}` metadata is `{shown}{more}`, not a CRC32 as 8 lower-case \
                     hex digits"
                ),
            }
        })?;
    let found = crc32fast::hash(file.data);
    if found != expected {
        return Err(LoadError::Checksum { expected, found });
    }
    Ok(())
}

/// Decodes the parameters of a parsed file into `scratch` (a pool) and returns its extras, every
/// check made.
fn decode<F: Float>(
    file: &Parsed<'_>,
    tensors: &[TensorSpec],
    metadata: &BTreeMap<String, String>,
    scratch: &mut [F],
) -> Result<Vec<(String, Vec<F>)>, LoadError> {
    for t in tensors {
        let view = file.tensor(&t.name)?;
        view.check::<F>(&t.shape)?;
        view.decode_into(&mut scratch[t.range()])?;
    }

    let listed: Vec<String> = match metadata.get(EXTRAS_KEY) {
        Some(list) if !list.is_empty() => list.split(',').map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let mut extras = Vec::with_capacity(listed.len());
    for name in &listed {
        if tensors.iter().any(|t| &t.name == name) {
            return Err(LoadError::Corrupted {
                reason: format!("`{name}` is listed as an extra but is a parameter of the network"),
            });
        }
        let view = file.tensor(name)?;
        let n = view.shape.iter().product();
        view.check::<F>(&[n])?;
        let mut values = vec![F::ZERO; n];
        view.decode_into(&mut values)?;
        extras.push((name.clone(), values));
    }

    let known: HashSet<&str> = tensors
        .iter()
        .map(|t| t.name.as_str())
        .chain(listed.iter().map(String::as_str))
        .collect();
    let mut names: Vec<String> = file.header.offset_keys();
    names.sort_unstable();
    if let Some(name) = names.into_iter().find(|n| !known.contains(n.as_str())) {
        return Err(LoadError::Unexpected { name });
    }
    Ok(extras)
}

/// The safetensors dtype of a float.
fn dtype_of<F: Float>() -> Dtype {
    if size_of::<F>() == 8 {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

/// Little-endian bytes of `values` (`f32` values as `f32`: the round trip through `f64` is exact).
fn encode<F: Float>(values: &[F]) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_of_val(values));
    for v in values {
        if size_of::<F>() == 8 {
            out.extend_from_slice(&v.to_f64().to_le_bytes());
        } else {
            out.extend_from_slice(&(v.to_f64() as f32).to_le_bytes());
        }
    }
    out
}

/// A parsed, validated file: its header and its data section (which the header's offsets cover
/// exactly).
struct Parsed<'a> {
    header: Metadata,
    data: &'a [u8],
}

/// One tensor of a parsed file.
struct View<'a> {
    name: &'a str,
    dtype: Dtype,
    shape: &'a [usize],
    data: &'a [u8],
}

impl Parsed<'_> {
    fn tensor<'s>(&'s self, name: &'s str) -> Result<View<'s>, LoadError> {
        let missing = || LoadError::Missing {
            name: name.to_string(),
        };
        let info = self.header.info(name).ok_or_else(missing)?;
        let (start, end) = info.data_offsets;
        let data = self
            .data
            .get(start..end)
            .ok_or_else(|| LoadError::Corrupted {
                reason: format!("tensor `{name}` lies outside the data section"),
            })?;
        Ok(View {
            name,
            dtype: info.dtype,
            shape: &info.shape,
            data,
        })
    }

    fn metadata(&self) -> BTreeMap<String, String> {
        self.header
            .metadata()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

impl View<'_> {
    /// Checks the dtype against `F`'s and the shape against `shape`.
    fn check<F: Float>(&self, shape: &[usize]) -> Result<(), LoadError> {
        let expected = dtype_of::<F>();
        if self.dtype != expected {
            return Err(LoadError::Dtype {
                name: self.name.to_string(),
                expected: if expected == Dtype::F64 { "F64" } else { "F32" },
                found: self.dtype.to_string(),
            });
        }
        if self.shape != shape {
            return Err(LoadError::Shape {
                name: self.name.to_string(),
                expected: shape.to_vec(),
                found: self.shape.to_vec(),
            });
        }
        Ok(())
    }

    /// Decodes the (checked) data into `out`, refusing non-finite values.
    fn decode_into<F: Float>(&self, out: &mut [F]) -> Result<(), LoadError> {
        let size = size_of::<F>();
        if self.data.len() != size_of_val(out) {
            return Err(LoadError::Corrupted {
                reason: format!(
                    "tensor `{}` has {} bytes of data",
                    self.name,
                    self.data.len()
                ),
            });
        }
        for (index, (o, b)) in out.iter_mut().zip(self.data.chunks_exact(size)).enumerate() {
            let v = if size == 8 {
                f64::from_le_bytes(b.try_into().expect("chunks of 8"))
            } else {
                f64::from(f32::from_le_bytes(b.try_into().expect("chunks of 4")))
            };
            if !v.is_finite() {
                return Err(LoadError::NonFinite {
                    name: self.name.to_string(),
                    index,
                });
            }
            // Exact: an `f32` read as `f64` converts back to the same `f32`.
            *o = F::from_f64(v);
        }
        Ok(())
    }
}

/// Parses a whole file, classifying every failure.
fn parse(bytes: &[u8]) -> Result<Parsed<'_>, LoadError> {
    let found = bytes.len() as u64;
    let Some(prefix) = bytes.get(..8) else {
        return Err(LoadError::Truncated { expected: 8, found });
    };
    let n = u64::from_le_bytes(prefix.try_into().expect("8 bytes"));
    let not = |reason: String| Err(LoadError::NotSafetensors { reason });
    if n > MAX_HEADER {
        return not(format!(
            "its first 8 bytes announce a header of {n} bytes (safetensors allows {MAX_HEADER})"
        ));
    }
    if n < 2 {
        return not(format!(
            "its header is {n} bytes long, too short for a JSON object"
        ));
    }
    if let Some(&first) = bytes.get(8)
        && first != b'{'
    {
        return not(format!(
            "its header starts with byte {first:#04x}, not `{{`"
        ));
    }
    let header_end = 8 + n;
    if found < header_end {
        return Err(LoadError::Truncated {
            expected: header_end,
            found,
        });
    }
    let corrupted = |reason: String| Err(LoadError::Corrupted { reason });
    let Ok(text) = core::str::from_utf8(&bytes[8..header_end as usize]) else {
        return corrupted("its header is not UTF-8".into());
    };
    // The largest integer of the JSON structure: the end of the data section when the header is
    // valid. Checked before the safetensors crate adds it to the header's length, which overflows
    // (and panics in debug builds) on a crafted number near `usize::MAX`.
    let largest = match largest_integer(text) {
        Some(m) if usize::try_from(m).is_ok_and(|m| m <= usize::MAX / 4) => m,
        _ => return corrupted("its header holds a number too large for any file".into()),
    };
    let data_len = found - header_end;
    match SafeTensors::read_metadata(bytes) {
        Ok((_, header)) => Ok(Parsed {
            header,
            data: &bytes[header_end as usize..],
        }),
        Err(SafeTensorError::MetadataIncompleteBuffer) if largest > data_len => {
            Err(LoadError::Truncated {
                expected: header_end + largest,
                found,
            })
        }
        Err(SafeTensorError::MetadataIncompleteBuffer) => corrupted(format!(
            "its data section has {data_len} bytes, more than its tensors use"
        )),
        Err(SafeTensorError::InvalidHeaderDeserialization(e)) => {
            corrupted(format!("its header is not a valid safetensors header: {e}"))
        }
        Err(e) => corrupted(format!("{e}")),
    }
}

/// The largest run of digits outside JSON strings in `text` (`Some(0)` if none), or `None` if one
/// does not fit a `u64`.
fn largest_integer(text: &str) -> Option<u64> {
    let mut largest = 0u64;
    let mut chars = text.bytes();
    let mut current: Option<u64> = None;
    while let Some(c) = chars.next() {
        match c {
            b'"' => {
                // Skip the string, escapes included.
                while let Some(c) = chars.next() {
                    match c {
                        b'\\' => {
                            chars.next();
                        }
                        b'"' => break,
                        _ => {}
                    }
                }
                current = None;
            }
            b'0'..=b'9' => {
                let v = current
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(c - b'0'))?;
                largest = largest.max(v);
                current = Some(v);
            }
            _ => current = None,
        }
    }
    Some(largest)
}

/// Writes `bytes` to `path` atomically (see [`crate::fsutil`]).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SaveError> {
    crate::fsutil::write_atomic(path, bytes).map_err(|source| SaveError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpnet_runtime::Role;

    const fn module(
        name: &'static str,
        kind: &'static str,
        offset: usize,
        len: usize,
        inputs: &'static [&'static str],
        output: &'static str,
        children: &'static [ModuleInfo],
    ) -> ModuleInfo {
        ModuleInfo {
            name,
            kind,
            offset,
            len,
            inputs,
            output,
            children,
            tensors: &[],
        }
    }

    const fn state(name: &'static str, width: usize, role: Role) -> StateInfo {
        StateInfo { name, width, role }
    }

    fn shapes(t: &[TensorSpec]) -> Vec<(&str, usize, &[usize])> {
        t.iter()
            .map(|t| (t.name.as_str(), t.offset, t.shape.as_slice()))
            .collect()
    }

    #[test]
    fn debug_is_the_message() {
        let save = SaveError::NonFinite {
            name: "linear1.weight".into(),
            index: 3,
        };
        assert!(format!("{save:?}").starts_with(&save.to_string()));
        let load = LoadError::OtherNetwork {
            file: "Other".into(),
            network: "Digits".into(),
            mismatch: Box::new(LoadError::Unexpected {
                name: "head.weight".into(),
            }),
        };
        assert!(format!("{load:?}").starts_with(&load.to_string()));
        // The cause is given once, by the file's name.
        assert!(!load.to_string().contains("another network?"), "{load}");
    }

    #[test]
    fn largest_integer_skips_strings() {
        assert_eq!(largest_integer(r#"{"a":[1,22,3]}"#), Some(22));
        assert_eq!(
            largest_integer(r#"{"a999":"12345 \"678910\" 2","b":[7]}"#),
            Some(7)
        );
        assert_eq!(largest_integer("{}"), Some(0));
        assert_eq!(largest_integer("[18446744073709551615]"), Some(u64::MAX));
        assert_eq!(largest_integer("[18446744073709551616]"), None);
    }

    #[test]
    fn linear_shapes_come_from_states_or_the_graph() {
        // x -> linear(3 -> 2) -> y, with only x's width known: y's comes from the module's size.
        const M: &[ModuleInfo] = &[module("l", "linear", 0, 6, &["x"], "y", &[])];
        let known = param_tensors(M, &[state("x", 3, Role::Input)]);
        assert_eq!(shapes(&known), [("l.weight", 0, &[2, 3][..])]);
        let by_output = param_tensors(M, &[state("y", 2, Role::Output)]);
        assert_eq!(shapes(&by_output), [("l.weight", 0, &[2, 3][..])]);
        // Neither known: stored flat, under the same key.
        assert_eq!(shapes(&param_tensors(M, &[])), [("l.weight", 0, &[6][..])]);
        // Widths that contradict the size: flat, never a wrong matrix.
        let wrong = [state("x", 4, Role::Input), state("y", 2, Role::Output)];
        assert_eq!(
            shapes(&param_tensors(M, &wrong)),
            [("l.weight", 0, &[6][..])]
        );
    }

    #[test]
    fn widths_flow_through_tanh_add_and_euclidean() {
        // a = l1(x); b = tanh(a) (width 4); c = add(b, d); e = euclidean(c, y); d = l2(z).
        const M: &[ModuleInfo] = &[
            module("l1", "linear", 0, 8, &["x"], "a", &[]),
            module("t", "tanh", 8, 4, &["a"], "b", &[]),
            module("add", "add", 12, 0, &["b", "d"], "c", &[]),
            module("l2", "linear", 12, 20, &["z"], "d", &[]),
            module("e", "euclidean", 32, 0, &["c", "y"], "e", &[]),
        ];
        assert_eq!(
            shapes(&param_tensors(M, &[])),
            [
                ("l1.weight", 0, &[4, 2][..]),
                ("t.bias", 8, &[4][..]),
                ("l2.weight", 12, &[4, 5][..]),
            ]
        );
    }

    #[test]
    fn children_that_do_not_tile_their_module_are_stored_flat() {
        const GAP: &[ModuleInfo] = &[module("inner", "linear", 1, 2, &["i"], "o", &[])];
        const M: &[ModuleInfo] = &[module("u", "User", 0, 4, &["x"], "y", GAP)];
        assert_eq!(shapes(&param_tensors(M, &[])), [("u.params", 0, &[4][..])]);

        const TILE: &[ModuleInfo] = &[
            module("a", "linear", 0, 2, &["i"], "h", &[]),
            module("b", "tanh", 2, 2, &["h"], "o", &[]),
        ];
        const N: &[ModuleInfo] = &[module("u", "User", 3, 4, &["x"], "y", TILE)];
        assert_eq!(
            shapes(&param_tensors(N, &[state("x", 1, Role::Input)])),
            [("u.a.weight", 3, &[2, 1][..]), ("u.b.bias", 5, &[2][..])]
        );
    }

    #[test]
    fn layout_must_tile_the_pool_once() {
        const OK: &[ModuleInfo] = &[
            module("a", "tanh", 0, 2, &["x"], "y", &[]),
            module("b", "tanh", 2, 2, &["y"], "z", &[]),
        ];
        assert!(layout(OK, &[], 4).is_ok());
        assert!(layout(OK, &[], 5).is_err());
        const GAP: &[ModuleInfo] = &[
            module("a", "tanh", 0, 2, &["x"], "y", &[]),
            module("b", "tanh", 3, 2, &["y"], "z", &[]),
        ];
        assert!(layout(GAP, &[], 5).is_err());
        const OVERLAP: &[ModuleInfo] = &[
            module("a", "tanh", 0, 2, &["x"], "y", &[]),
            module("b", "tanh", 1, 3, &["y"], "z", &[]),
        ];
        assert!(layout(OVERLAP, &[], 4).is_err());
        const TWICE: &[ModuleInfo] = &[
            module("a", "tanh", 0, 2, &["x"], "y", &[]),
            module("a", "tanh", 2, 2, &["y"], "z", &[]),
        ];
        assert!(layout(TWICE, &[], 4).unwrap_err().contains("two tensors"));
        const HUGE: &[ModuleInfo] = &[module("a", "User", usize::MAX, 2, &["x"], "y", &[])];
        assert!(layout(HUGE, &[], 2).is_err());
    }

    #[test]
    fn encoding_round_trips_f32_through_f64() {
        let v = [f32::MIN_POSITIVE / 7.0, -0.0, 1.0 / 3.0, f32::MAX];
        let bytes = encode(&v);
        assert_eq!(bytes.len(), 16);
        let back: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(back, v.map(f32::to_bits));
    }
}
