//! What one built-in kind of module is, as an interface: [`Op`]. Each kind implements it in its
//! own file under `kinds/`, with its width rule, its parameters, and how it is emitted in every
//! sweep (fprop, bprop and bbprop; per sample and per minibatch; inside and outside `unfold`),
//! the way each of JAX's primitives registers its shape rule, derivative and batching rule in one
//! place. The generators reach the kinds only through this trait and the code of a kind reaches
//! the network only through [`Sites`], so no kind depends on a phase and no phase on a kind.

use proc_macro2::{Span, TokenStream};

/// Which backward sweep: bprop (first derivatives: `dx`, the gradient pool, the kernels'
/// `bprop*`) or bbprop (diagonal Gauss–Newton second derivatives: `ddx`, the curvature pool, the
/// kernels' `bbprop*`). Both sweeps make the same calls on the same places.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Order {
    First,
    Second,
}

/// How a module's value takes part in the energy, which the graph rules and bbprop need.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// An ordinary module.
    Module,
    /// Passes the sum of its inputs on unchanged (`add`): a loss added stays a loss, and the
    /// energy is linear in its inputs where it is in its output.
    Pass,
    /// As `Pass`, over the steps of the `unfold` block, once after it (`sum`, `last`).
    Gather,
    /// A distance that can be (a term of) the energy, with its own Hessian in bbprop (`euclidean`).
    Term,
    /// A classification loss: as `Term`, and lowered (it becomes the energy; nothing reads it).
    Loss,
}

impl Flow {
    /// `add`, `sum`, `last`.
    pub fn passes(self) -> bool {
        matches!(self, Flow::Pass | Flow::Gather)
    }
    /// `euclidean` and the losses.
    pub fn is_term(self) -> bool {
        matches!(self, Flow::Term | Flow::Loss)
    }
}

/// A role of a state, as the width rules see it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum StateRole {
    Input,
    Target,
    Computed,
}

/// One parameter tensor of a module: its key in a saved file (`weight`, `bias`) and its shape
/// (row-major; the pool holds `shape.iter().product()` values for it, tensors in order).
pub struct Tensor {
    pub name: &'static str,
    pub shape: Vec<usize>,
}

impl Tensor {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
}

/// An input of a module as the width rules see it.
pub struct ArgView {
    /// As written, `h` or `h[t - 1]`.
    pub text: String,
    pub span: Span,
    pub width: Option<usize>,
    /// Its shape, when known: `[width]` for a vector, or the sizes of a feature map.
    pub shape: Option<Vec<usize>>,
    pub role: StateRole,
    /// The state's name.
    pub state: String,
    /// The kind and name of the module that computes it.
    pub made_by: Option<(String, String)>,
}

/// A module as the width rules see it, with the widths known so far.
pub struct WidthView {
    /// The module's name.
    pub name: String,
    pub args: Vec<ArgView>,
    /// The options given, each with the span of its name.
    pub options: Vec<(String, Span)>,
}

impl WidthView {
    /// Where option `name` is written, else where argument 0 is.
    pub fn option_span(&self, name: &str) -> Span {
        self.options
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s)
            .or_else(|| self.args.first().map(|a| a.span))
            .unwrap_or_else(Span::call_site)
    }
}

/// The places one module's calls read and write, given by the generator of a sweep: per sample
/// (a `State`'s arrays) or per minibatch (the first `rows` rows of a `Batch`, row-major), at the
/// current step or a delayed one. `k` is the position of an argument.
pub trait Sites {
    /// `::bpnet::__private::<module>::<float>`: the kernels of a runtime module.
    fn kernels(&self, module: &str) -> TokenStream;
    /// `::bpnet::__private`.
    fn rt(&self) -> TokenStream;
    /// The float type.
    fn float(&self) -> TokenStream;
    /// The float type, as the macro knows it (for sizes in bytes).
    fn float_ty(&self) -> crate::parse::FloatTy;
    /// Per minibatch (`rows` rows in every place) rather than per sample.
    fn batch(&self) -> bool;
    /// The backward sweep whose kernels are called (`bprop…` or `bbprop…`). In bbprop a linear
    /// module that is part of the energy is given `Order::First` here (its first-order
    /// coefficients) while its places are the `ddx` ones.
    fn order(&self) -> Order;
    /// The number of arguments.
    fn arity(&self) -> usize;
    /// The width of argument `k`, and of the output.
    fn width(&self, k: usize) -> usize;
    fn out_width(&self) -> usize;
    /// The shape of argument `k` (`[width]` for a vector).
    fn shape(&self, k: usize) -> Vec<usize>;
    /// The place of argument `k` and of the output (a `State`, or a `Batch` on a minibatch).
    fn arg(&self, k: usize) -> TokenStream;
    fn out(&self) -> TokenStream;
    /// The values of a place, as a slice argument: `&p.x`, or `p.x[..rows].as_flattened()`.
    fn x(&self, place: &TokenStream) -> TokenStream;
    fn x_mut(&self, place: &TokenStream) -> TokenStream;
    /// The derivatives of this sweep's order (`dx` or `ddx`) of a place, as a slice argument.
    fn d(&self, place: &TokenStream) -> TokenStream;
    fn d_mut(&self, place: &TokenStream) -> TokenStream;
    /// The module's range in the pools: `&params[range]` holds its parameters.
    fn range(&self) -> TokenStream;
    /// The pool this sweep's parameter derivatives go into: `grads`, or `ddgrads` in bbprop.
    fn pool(&self) -> syn::Ident;
    /// A kernel's name: `base` (`fprop`, `bprop`, …) then `mid`, then `_batch` on a minibatch, then
    /// `tail` (`_acc`, `_params`), as the runtime names its functions.
    fn kernel(&self, base: &str, mid: &str, tail: &str) -> syn::Ident;
    /// This sweep's backward kernel (`bprop…` or `bbprop…`), as [`Sites::kernel`].
    fn backward(&self, mid: &str, tail: &str) -> syn::Ident {
        match self.order() {
            Order::First => self.kernel("bprop", mid, tail),
            Order::Second => self.kernel("bbprop", mid, tail),
        }
    }
    /// `call` (which only writes argument `k`'s derivative), run only when input gradients are on
    /// if that argument is an input or a target.
    fn unless_skipped(&self, k: usize, call: TokenStream) -> TokenStream;
    /// A module with parameters reading argument 0: `full`, or `params` alone when that argument
    /// is an input or a target and input gradients are off.
    fn full_or_params(&self, full: TokenStream, params: TokenStream) -> TokenStream;
    /// In bbprop, whether this distance or loss is an ordinary module (`bbprop_inner…`: its
    /// Jacobian squared) rather than a term of the energy (its own Hessian).
    fn inner(&self) -> bool;
    /// For `sum`/`last`: the slot of argument 0 at step `t` (an expression of `t` or `len`).
    fn slot(&self, t: TokenStream) -> TokenStream;
    /// For `sum`: the steps it gathers.
    fn steps_gathered(&self) -> TokenStream;
    /// The inference form's sweep, run one step per call (`run_step`): a module gathering the
    /// steps keeps its output from the previous calls and adds this step's term, so that it is
    /// what `run` computes over the steps so far ([`Sites::steps_gathered`] is then this step,
    /// if in range).
    fn streamed(&self) -> bool;
    /// `, slope`: a number the module was declared with, as a literal of the network's float.
    fn number(&self, v: f64) -> TokenStream;
    /// Where this module's random numbers come from in the current forward pass, at the current
    /// step (`dropout`): a `bpnet::__private::Key` of the network's mode, the module and the
    /// step, the same in the backward sweeps as in the fprop they go back through.
    fn key(&self) -> TokenStream;
}

/// One built-in kind of module. The registry in `kinds/mod.rs` makes one from a checked call.
pub trait Op {
    /// The kind as written (and `ModuleInfo::kind`).
    fn name(&self) -> &'static str;
    /// The kind in messages, the struct's docs and the DOT picture.
    fn label(&self) -> String {
        self.name().to_string()
    }
    /// Its node in the DOT picture (the widths are known).
    fn detail(&self, _ins: &[usize], _out: usize) -> String {
        self.label()
    }
    fn flow(&self) -> Flow {
        Flow::Module
    }
    /// Whether it is linear in its inputs (`add`, `sub`, `scale`, `concat`, `slice`, `sum`,
    /// `last`): where its value is part of the energy, the energy is linear in its inputs too, and
    /// bbprop passes the energy's Gauss–Newton weights back with its first-order coefficients
    /// (its bprop on `ddx`: a scaled distance keeps its own Hessian, scaled by `c`, not `c²`).
    fn linear(&self) -> bool {
        matches!(self.flow(), Flow::Pass | Flow::Gather)
    }
    /// The output width, from the inputs' (`None` until those it needs are known).
    fn width(&self, ins: &[Option<usize>]) -> Option<usize>;
    /// Whether its output has its inputs' shape (a pointwise kind): a feature map stays one
    /// through it.
    fn keeps_shape(&self) -> bool {
        false
    }
    /// The output's shape, from the inputs' (`None` until those it needs are known): `[width]`,
    /// or for a kind that [`Self::keeps_shape`] the shape of the first known input of that
    /// width (`add(acc[t - 1], d)` takes `d`'s while `acc`'s is not known yet). A kind that reads
    /// its input's shape (`conv`) gives its own, and `[0]` for an input it cannot read (its
    /// [`Self::check`] says why; a width of 0 leaves the state unknown, so nothing after it
    /// reports a mistake of its own).
    fn shape(&self, ins: &[Option<&[usize]>]) -> Option<Vec<usize>> {
        let widths: Vec<Option<usize>> = ins.iter().map(|s| s.map(product)).collect();
        let w = self.width(&widths)?;
        let kept = ins.iter().flatten().find(|s| product(s) == w);
        match kept {
            Some(s) if self.keeps_shape() => Some(s.to_vec()),
            _ => Some(vec![w]),
        }
    }
    /// The errors when the inputs' widths (or roles) do not fit; `errs` takes each error.
    fn check(&self, _view: &WidthView, _errs: &mut dyn FnMut(Span, String)) {}
    /// Its parameter tensors, in pool order.
    fn tensors(&self, _ins: &[usize], _out: usize) -> Vec<Tensor> {
        Vec::new()
    }
    /// Its parameter tensors from the shapes of its inputs and output: [`Self::tensors`] on
    /// the widths, unless the kind reads the shapes (`conv`).
    fn tensors_shaped(&self, ins: &[&[usize]], out: &[usize]) -> Vec<Tensor> {
        let widths: Vec<usize> = ins.iter().map(|s| product(s)).collect();
        self.tensors(&widths, product(out))
    }
    /// What its slice of the pool is, for the accessors' docs.
    fn pool_doc(&self, _ins: &[usize], _out: usize) -> String {
        "its parameters".to_string()
    }
    /// Whether the network has `<module>_params` accessors for it.
    fn accessors(&self) -> bool {
        false
    }
    /// The initialisation of its parameters (`params`, `rng` in scope); none: zeros.
    fn init(&self, _s: &dyn Sites) -> Option<TokenStream> {
        None
    }
    /// What its minibatch needs reserved, from the shapes of its inputs (`__gemm`, `capacity` in
    /// scope; in a function that returns `Result<_, bpnet::Error>`, so a failed reservation is
    /// `?`).
    fn reserve(&self, _ins: &[&[usize]]) -> Option<TokenStream> {
        None
    }
    /// Its fprop calls.
    fn fprop(&self, s: &dyn Sites) -> TokenStream;
    /// Its calls in a backward sweep of [`Sites::order`]; `acc[k]`: argument `k`'s derivative
    /// already holds another module's contribution (add into it) or not (overwrite it).
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream;
    /// Its calls in `train_sgd`'s backward sweep, per sample, if its kernels fuse the update:
    /// [`Self::backward`]'s `dx`, and its parameters (`params`, mutable there) moved by
    /// `lr · gradient` without the gradient pool, the same bits as `backward` into a zeroed pool
    /// followed by `sgd_step`. None: `backward` into its zeroed range of the pool, then
    /// `sgd_step` on that range.
    fn backward_sgd(&self, _s: &dyn Sites, _acc: &[bool]) -> Option<TokenStream> {
        None
    }
    /// On a minibatch, its fprop on a segment of one row, as a closure `|c0, x, y|` (`x` its
    /// input's values from column `c0` on, `y` its output's), if it can finish a matrix product:
    /// the product's module then applies it as it stores each tile ([`Self::fprop_finished`]),
    /// and this module's own fprop is left out. The same bits as its fprop.
    fn finisher(&self, _s: &dyn Sites) -> Option<TokenStream> {
        None
    }
    /// On a minibatch, its fprop with `finish` (the reader's [`Self::finisher`]) applied to its
    /// output into `out` (the reader's output values), if it is a matrix product that can.
    fn fprop_finished(
        &self,
        _s: &dyn Sites,
        _out: TokenStream,
        _finish: TokenStream,
    ) -> Option<TokenStream> {
        None
    }
}

/// The width of a shape: the product of its sizes (saturating: the shapes the checker keeps
/// are at most `MAX_WIDTH` wide).
pub fn product(shape: &[usize]) -> usize {
    shape.iter().fold(1usize, |a, &d| a.saturating_mul(d))
}
