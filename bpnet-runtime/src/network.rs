//! What every network generated with an energy offers, for code that works on any of them.

use crate::Float;

/// Where one module's parameters sit in the network's pool, and how it is wired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModuleInfo {
    /// The module's name in the declaration.
    pub name: &'static str,
    /// `linear`, `tanh`, `add`, `euclidean`, or the path of a user module type.
    pub kind: &'static str,
    /// Offset of its first parameter in the pool.
    pub offset: usize,
    /// Number of parameters.
    pub len: usize,
    /// The states it reads.
    pub inputs: &'static [&'static str],
    /// The state it writes.
    pub output: &'static str,
    /// For a nested network (or a user module that declares them), its own modules, with offsets
    /// relative to this module's `offset`.
    pub children: &'static [ModuleInfo],
    /// Its parameter tensors in pool order, each `(name, shape)`: `("weight", &[out, in])` then
    /// `("bias", &[out])` for an affine `linear`, `("bias", &[n])` for a sigmoid module. Given by
    /// `network!` for every built-in kind (empty for those without parameters), they name the
    /// tensors of a saved file ([`bpnet::io`](https://docs.rs/bpnet)); a user module's are empty
    /// (its parameters are saved as one `params` tensor, or by its `children`).
    pub tensors: &'static [(&'static str, &'static [usize])],
}

impl ModuleInfo {
    /// The module's range in the pool.
    pub const fn range(&self) -> core::ops::Range<usize> {
        self.offset..self.offset + self.len
    }
}

/// Whether `modules` (a network's `MODULES`) has the layout `expected`: every module's
/// `(name, offset, len, number of children)`, a nested network's modules right after it (in
/// pre-order). A `const fn`, so that parameters compiled into a program
/// (`bpnet::io::export_rust`'s file) are checked against the network's declaration while it
/// compiles: a file exported from another layout (a width or a module changed since, in the
/// network or in one it nests) is a compile-time error rather than wrong outputs.
#[doc(hidden)]
pub const fn layout_is(modules: &[ModuleInfo], expected: &[(&str, usize, usize, usize)]) -> bool {
    match layout_walk(modules, expected, 0) {
        Some(used) => used == expected.len(),
        None => false,
    }
}

/// [`layout_is`] from `expected[at]` on: the position after `modules` and their children, or
/// `None` at the first difference.
const fn layout_walk(
    modules: &[ModuleInfo],
    expected: &[(&str, usize, usize, usize)],
    mut at: usize,
) -> Option<usize> {
    let mut i = 0;
    while i < modules.len() {
        if at >= expected.len() {
            return None;
        }
        let (m, (name, offset, len, children)) = (&modules[i], expected[at]);
        if m.offset != offset || m.len != len || m.children.len() != children {
            return None;
        }
        let (a, b) = (m.name.as_bytes(), name.as_bytes());
        if a.len() != b.len() {
            return None;
        }
        let mut j = 0;
        while j < a.len() {
            if a[j] != b[j] {
                return None;
            }
            j += 1;
        }
        at = match layout_walk(m.children, expected, at + 1) {
            Some(next) => next,
            None => return None,
        };
        i += 1;
    }
    Some(at)
}

#[cfg(test)]
mod layout_tests {
    use super::{ModuleInfo, layout_is};

    const fn module(name: &'static str, offset: usize, len: usize) -> ModuleInfo {
        ModuleInfo {
            name,
            kind: "linear",
            offset,
            len,
            inputs: &[],
            output: "y",
            children: &[],
            tensors: &[],
        }
    }

    const INNER: &[ModuleInfo] = &[module("l", 0, 6), module("t", 6, 2)];
    const NET: &[ModuleInfo] = &[
        module("a", 0, 4),
        ModuleInfo {
            children: INNER,
            ..module("inner", 4, 8)
        },
    ];

    /// The layout itself passes; a different name, offset, length, nesting, or a module more or
    /// less, inside the nested network too, does not.
    #[test]
    fn every_difference_is_found() {
        let same = [
            ("a", 0, 4, 0),
            ("inner", 4, 8, 2),
            ("l", 0, 6, 0),
            ("t", 6, 2, 0),
        ];
        assert!(layout_is(NET, &same));
        const _: () = assert!(layout_is(
            NET,
            &[
                ("a", 0, 4, 0),
                ("inner", 4, 8, 2),
                ("l", 0, 6, 0),
                ("t", 6, 2, 0)
            ]
        ));
        for k in 0..same.len() {
            for change in 0..4 {
                let mut other = same;
                match change {
                    0 => other[k].0 = "b",
                    1 => other[k].1 += 1,
                    2 => other[k].2 += 1,
                    _ => other[k].3 += 1,
                }
                assert!(!layout_is(NET, &other), "{k} {change}");
            }
        }
        assert!(!layout_is(NET, &same[..3]));
        assert!(!layout_is(
            NET,
            &[same[0], same[1], same[2], same[3], same[3]]
        ));
        assert!(!layout_is(NET, &[("a", 0, 4, 0), ("inner", 4, 8, 0)]));
    }
}

/// What a state is in the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Given to fprop and run.
    Input,
    /// Given to fprop only: the desired answer, read by the energy.
    Target,
    /// Computed by a module.
    Hidden,
    /// Computed by a module and returned by run.
    Output,
    /// The scalar energy.
    Energy,
}

/// One state of a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateInfo {
    /// The state's name (also the struct field).
    pub name: &'static str,
    /// Its width.
    pub width: usize,
    /// What it is.
    pub role: Role,
}

/// A network generated by `network!` with an energy: the pooled parameters, their gradients and
/// the backward sweep. fprop takes each network's own inputs, so it is an inherent method.
pub trait Network {
    /// The element type.
    type Float: Float;
    /// Number of parameters in the pool.
    const PARAMS: usize;
    /// Every module, in declaration order.
    const MODULES: &'static [ModuleInfo];
    /// Every state, in declaration order.
    const STATES: &'static [StateInfo];

    /// The pooled parameters.
    fn params(&self) -> &[Self::Float];
    /// The pooled parameters, to set or update them.
    fn params_mut(&mut self) -> &mut [Self::Float];
    /// The pooled gradients, same layout as [`Network::params`].
    fn grads(&self) -> &[Self::Float];
    /// The energy computed by the last fprop.
    fn energy(&self) -> Self::Float;
    /// Sets every gradient to zero.
    fn zero_grad(&mut self);
    /// Back-propagates from the energy of the last fprop, adding into the gradient pool.
    fn bprop(&mut self);
    /// Whether [`Network::bprop`] also computes the `dx` of the inputs and targets. Off by
    /// default: training needs the parameters' gradients only, which are the same either way.
    fn set_input_grads(&mut self, on: bool);
    /// Whether [`Network::bprop`] computes the `dx` of the inputs and targets.
    fn input_grads(&self) -> bool;
    /// One plain gradient-descent update of the whole pool.
    fn sgd_step(&mut self, lr: Self::Float);
    /// Training (`true`, the default: dropout draws masks) or evaluation (dropout is the
    /// identity), for every module of the network and every copy of it; the `Trainer` evaluates
    /// in evaluation mode. Generated networks implement it; by default it does nothing.
    fn set_training(&mut self, on: bool) {
        let _ = on;
    }
    /// Whether the network is in training mode (see [`Network::set_training`]).
    fn training(&self) -> bool {
        true
    }
}

/// A network that back-propagates second derivatives: `bbprop`, generated by `network!` when
/// every module has one (every built-in kernel does; a user module through
/// [`Bbprop`](crate::Bbprop)).
///
/// bbprop is the diagonal Gauss–Newton sweep of "Efficient BackProp" (LeCun, Bottou, Orr, Müller,
/// 1998): the energy's `ddx` is 1, the modules that make the energy (a Euclidean distance, a loss)
/// turn it into the diagonal of their own Hessian (any other module making it gets 0: the energy
/// is linear in its value), and every other module (a Euclidean distance inside the network too)
/// passes `ddx` back with its Jacobian squared (Linear: `W∘W` to its
/// input, `x∘x` to its weights; Tanh: `f′²`, the `f″` term dropped). The result, in the
/// curvature pool, has the layout of [`Network::params`]; stochastic diagonal Levenberg–Marquardt
/// divides each parameter's learning rate by it.
pub trait SecondOrder: Network {
    /// bbprop: from the last fprop, **adds** the diagonal second derivatives of the energy with
    /// respect to the parameters into the curvature pool, and sets every computed state's `ddx`.
    fn bbprop(&mut self);
    /// The pooled second derivatives, same layout as [`Network::params`].
    fn curvature(&self) -> &[Self::Float];
    /// Sets every second derivative in the pool to zero.
    fn zero_curvature(&mut self);
}

/// The `Debug` of a generated network: a summary that fits a line, not its values (thousands
/// of parameters); `{:#?}` puts one module per line. The values are in `params()` and the
/// states' fields.
#[doc(hidden)]
#[cfg(feature = "std")]
pub fn debug_network(
    f: &mut core::fmt::Formatter<'_>,
    name: &str,
    modules: &[ModuleInfo],
    states: &[StateInfo],
    params: usize,
    batch_capacity: usize,
) -> core::fmt::Result {
    struct Entries<I>(I);
    impl<I: Clone + Iterator<Item = String>> core::fmt::Debug for Entries<I> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_list().entries(self.0.clone().map(Text)).finish()
        }
    }
    struct Text(String);
    impl core::fmt::Debug for Text {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str(&self.0)
        }
    }
    let given = |role: Role| {
        states
            .iter()
            .filter(move |s| s.role == role)
            .map(|s| format!("{}: {}", s.name, s.width))
    };
    let modules = modules.iter().map(|m| {
        let inputs = m.inputs.join(", ");
        match m.len {
            0 => format!("{}: {}({inputs}) -> {}", m.name, m.kind, m.output),
            n => format!(
                "{}: {}({inputs}) -> {}, {n} params",
                m.name, m.kind, m.output
            ),
        }
    });
    f.debug_struct(name)
        .field("inputs", &Entries(given(Role::Input)))
        .field("targets", &Entries(given(Role::Target)))
        .field("modules", &Entries(modules))
        .field("params", &params)
        .field("batch_capacity", &batch_capacity)
        .finish()
}
