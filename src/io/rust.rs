//! Parameters as Rust source, for a program that runs a network without std or a file system:
//! [`export_rust`] writes a file that the program `include!`s beside the same `network!`
//! declaration, and runs with `Name::frozen(&PARAMS)`.
//!
//! The file holds `pub static PARAMS: [f32; N]` (or `f64`), every value written so
//! that it reads back to the same bits, the layout in a comment, and a compile-time check that
//! the declaration it is included beside has the layout it was exported from (the modules' names,
//! offsets and sizes): a file exported before a width or a module changed does not compile, where
//! it would otherwise run with its values in the wrong places.

use core::fmt::Write as _;
use std::path::Path;

use bpnet_runtime::{Float, ModuleInfo, Network};

use super::{SaveError, network_name, write_atomic};

/// Writes `net`'s parameters to `path` as Rust source, for a program that runs the network
/// without std or a file system: it `include!`s the file beside the same `network!`
/// declaration and runs `Name::frozen(&PARAMS)`.
///
/// The file holds `pub static PARAMS: [f32; N]` (or `f64`), every value written so
/// that it reads back to the same bits, the layout in a comment, and a compile-time check that
/// the declaration it is included beside has the layout it was exported from (each module's
/// name, offset and size): a file exported before a width or a module changed does not compile,
/// where it would otherwise run with its values in the wrong places.
///
/// The file is written atomically: replaced whole, or left as it was on an error. A NaN or
/// infinite parameter is an error ([`SaveError::NonFinite`]) and nothing is written.
///
/// ```no_run
/// # use bpnet::prelude::*;
/// network! {
///     pub struct TwoLayer {
///         input  x: 2;
///         target y: 1;
///         h      = l1: linear(x -> 4);
///         a      = t1: tanh(h);
///         out    = l2: linear(a -> 1);
///         energy = euclidean(out, y);
///     }
/// }
/// let net = TwoLayer::new(&mut StdRng::seed_from_u64(0));
/// // … train it, then:
/// bpnet::io::export_rust("two_layer_params.rs", &net)?;
/// // In the embedded crate, beside the same declaration:
/// // include!("two_layer_params.rs");
/// // let out = TwoLayer::frozen(&PARAMS).run(&[0.5, -0.5]);
/// # Ok::<(), bpnet::io::SaveError>(())
/// ```
pub fn export_rust<N: Network>(path: impl AsRef<Path>, net: &N) -> Result<(), SaveError> {
    export_rust_params(path, network_name::<N>(), N::MODULES, net.params())
}

/// [`export_rust`] for any pool: `name` is the network's type as the including code names it
/// (for a network without an energy, which does not implement [`Network`]: its `MODULES` and
/// `params()`).
pub fn export_rust_params<F: Float>(
    path: impl AsRef<Path>,
    name: &str,
    modules: &[ModuleInfo],
    params: &[F],
) -> Result<(), SaveError> {
    let source = rust_source(name, modules, params)?;
    write_atomic(path.as_ref(), source.as_bytes())
}

/// The text [`export_rust_params`] writes.
pub fn rust_source<F: Float>(
    name: &str,
    modules: &[ModuleInfo],
    params: &[F],
) -> Result<String, SaveError> {
    if let Some(index) = params.iter().position(|v| !v.is_finite()) {
        return Err(SaveError::NonFinite {
            name: format!("{name} parameters"),
            index,
        });
    }
    let covered: usize = modules.iter().map(|m| m.len).sum();
    if covered != params.len() {
        return Err(SaveError::Layout {
            reason: format!(
                "the modules hold {covered} parameters, the pool {}",
                params.len()
            ),
        });
    }
    let (f, n) = (F::NAME, params.len());
    let mut s = String::new();
    // `write!` into a `String` cannot fail.
    let _ = writeln!(
        s,
        "// The parameters of network `{name}`: {n} values of {f}, written by \
         bpnet::io::export_rust (bpnet {}).\n\
         // Include this file beside the same `network!` declaration, then run\n\
         // `{name}::frozen(&PARAMS)`. Layout (the pool's, module by module):",
        env!("CARGO_PKG_VERSION")
    );
    for m in modules {
        let tensors: Vec<String> = m
            .tensors
            .iter()
            .map(|(t, shape)| format!("{t} {shape:?}"))
            .collect();
        let _ = writeln!(
            s,
            "//   {:<12} {}({}) -> {}: [{}, {}){}{}",
            m.name,
            m.kind,
            m.inputs.join(", "),
            m.output,
            m.offset,
            m.offset + m.len,
            if tensors.is_empty() { "" } else { ", " },
            tensors.join(", ")
        );
    }
    let mut expected = Vec::new();
    layout(modules, &mut expected);
    // Checked unless the declaration has errors of its own (its stand-in has no layout).
    let _ = writeln!(
        s,
        "\nconst _: () = assert!(\n    {name}::__BROKEN\n        || ::bpnet::__private::layout_is(\n            \
         {name}::MODULES,\n            &[{}],\n        ),\n    \
         \"these parameters were exported from another layout of `{name}`: export them again\",\n);\n",
        expected.join(", ")
    );
    let _ = writeln!(s, "/// The parameters of `{name}`, in its pool's layout.");
    let _ = writeln!(s, "pub static PARAMS: [{f}; {n}] = [");
    for row in params.chunks(6) {
        let values: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
        let _ = writeln!(s, "    {},", values.join(", "));
    }
    s.push_str("];\n");
    Ok(s)
}

/// Every module's `(name, offset, len, number of children)`, a nested network's modules after
/// it: what `bpnet::__private::layout_is` checks.
fn layout(modules: &[ModuleInfo], out: &mut Vec<String>) {
    for m in modules {
        out.push(format!(
            "({:?}, {}, {}, {})",
            m.name,
            m.offset,
            m.len,
            m.children.len()
        ));
        layout(m.children, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULES: &[ModuleInfo] = &[
        ModuleInfo {
            name: "l1",
            kind: "linear",
            offset: 0,
            len: 4,
            inputs: &["x"],
            output: "h",
            children: &[],
            tensors: &[("weight", &[2, 2])],
        },
        ModuleInfo {
            name: "t1",
            kind: "tanh",
            offset: 4,
            len: 2,
            inputs: &["h"],
            output: "a",
            children: &[],
            tensors: &[("bias", &[2])],
        },
    ];

    /// Every value is written so that it reads back to the same bits: tiny, huge, negative zero,
    /// values with many digits.
    #[test]
    fn values_read_back_to_the_same_bits() {
        let params = [1e-40f32, -0.0, 3.4e38, 0.1, -1.0 / 3.0, 7.0];
        let text = rust_source("Net", MODULES, &params).unwrap();
        let body = text
            .split("= [")
            .nth(1)
            .unwrap()
            .split("];")
            .next()
            .unwrap();
        let back: Vec<f32> = body
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| v.parse().unwrap())
            .collect();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&params));
        assert!(text.contains("pub static PARAMS: [f32; 6] = ["));
        assert!(text.contains(r#"&[("l1", 0, 4, 0), ("t1", 4, 2, 0)],"#));
        assert!(text.contains("//   t1           tanh(h) -> a: [4, 6), bias [2]"));
    }

    #[test]
    fn a_non_finite_value_or_a_wrong_length_is_an_error() {
        let err = rust_source("Net", MODULES, &[0.0f64, 1.0, f64::NAN, 0.0, 0.0, 0.0]);
        assert!(matches!(err, Err(SaveError::NonFinite { index: 2, .. })));
        let err = rust_source("Net", MODULES, &[0.0f64; 5]);
        assert!(matches!(err, Err(SaveError::Layout { .. })), "{err:?}");
    }

    /// A failed export leaves the file as it was.
    #[test]
    fn a_failed_export_writes_nothing() {
        let dir = std::env::temp_dir().join(format!("bpnet-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("params.rs");
        export_rust_params(&path, "Net", MODULES, &[0.5f32; 6]).unwrap();
        let before = std::fs::read(&path).unwrap();
        let err = export_rust_params(&path, "Net", MODULES, &[f32::INFINITY; 6]);
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
