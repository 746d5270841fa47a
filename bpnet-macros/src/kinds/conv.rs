//! The convolutional kinds, on feature maps (states with a shape `[maps, height, width]`):
//! `conv(x, maps = 6, kernel = 5)` (2-D convolution, rectangular with `kh`/`kw`, `stride`,
//! `padding`), `subsample(x, size = 2)` (LeNet-5's: the window's sum times a trainable
//! coefficient plus a bias, per map) and `maxpool(x, size = 2)`. Their shape rules need the
//! input's shape, and each mistake gets its own error naming the arithmetic. Their kernels take
//! the geometry as a constant the macro writes and the runtime checks again at compile time.

use super::{Arity, Entry, OptSpec, Rule};
use crate::op::{Flow, Op, Order, Sites, StateRole, Tensor, WidthView};
use crate::parse::FloatTy;
use proc_macro2::{Span, TokenStream};
use quote::quote;

/// The most bytes of a padded map the per-sample kernels put on the stack: the runtime's
/// `conv::MAX_STACK` (which it checks again while the crate compiles).
const MAX_STACK: usize = 64 * 1024;

/// `[c, h, w]` as `c×h×w`.
fn show(s: &[usize]) -> String {
    s.iter().map(usize::to_string).collect::<Vec<_>>().join("×")
}

/// The input's maps, height and width, if its shape is known and has three sizes.
fn maps_of(ins: &[Option<&[usize]>]) -> Option<Option<[usize; 3]>> {
    let s = ins.first().copied().flatten()?;
    Some(<[usize; 3]>::try_from(s).ok())
}

/// The error for an input that is not a stack of maps.
fn not_maps(kind: &str, view: &WidthView, errs: &mut dyn FnMut(Span, String)) -> bool {
    let arg = &view.args[0];
    match &arg.shape {
        Some(s) if s.len() == 3 => false,
        Some(s) => {
            let has = if s.len() == 1 {
                format!("width {}", s[0])
            } else {
                format!("shape {}", show(s))
            };
            let fix = if arg.role == StateRole::Computed {
                "; feature maps are an input or target declared with a shape (`input x: [1, 8, \
                 8];`) or what `conv`, `subsample`, `maxpool` and the pointwise kinds after them \
                 make"
                    .to_string()
            } else {
                format!(
                    ": declare its shape, as in `input {}: [1, 8, 8];`",
                    arg.state
                )
            };
            errs(
                arg.span,
                format!(
                    "{kind} module `{}` reads `{}` as maps × height × width, but `{}` has {has}{fix}",
                    view.name, arg.text, arg.text
                ),
            );
            true
        }
        None => true,
    }
}

const MAPS: OptSpec = OptSpec {
    name: "maps",
    rule: Rule::Index,
    default: None,
    what: "`maps`",
    explain: "conv module `{key}` makes `maps` feature maps: an integer, at least 1",
};

const SIZE: OptSpec = OptSpec {
    name: "size",
    rule: Rule::Index,
    default: None,
    what: "`size`",
    explain: "module `{key}` cuts each map into `size × size` windows: an integer, at least 1",
};

pub const CONV: Entry = Entry {
    name: "conv",
    flow: Flow::Module,
    arity: Arity::Exactly(1),
    usage: "`conv(x, maps = 6, kernel = 5)`",
    no_arrow: Some("makes `maps` feature maps, whose size follows from its input's"),
    options: &[
        MAPS,
        OptSpec {
            name: "kernel",
            rule: Rule::Index,
            default: Some(0.0),
            what: "`kernel`",
            explain: "conv module `{key}` slides a `kernel × kernel` kernel over each map (or \
                      `kh × kw` with `kh = …, kw = …`): an integer, at least 1",
        },
        OptSpec {
            name: "kh",
            rule: Rule::Index,
            default: Some(0.0),
            what: "`kh`",
            explain: "conv module `{key}`'s kernel height: an integer, at least 1",
        },
        OptSpec {
            name: "kw",
            rule: Rule::Index,
            default: Some(0.0),
            what: "`kw`",
            explain: "conv module `{key}`'s kernel width: an integer, at least 1",
        },
        OptSpec {
            name: "stride",
            rule: Rule::Index,
            default: Some(1.0),
            what: "`stride`",
            explain: "conv module `{key}` moves its kernel `stride` values at a time: an integer, \
                      at least 1",
        },
        OptSpec {
            name: "padding",
            rule: Rule::Index,
            default: Some(0.0),
            what: "`padding`",
            explain: "conv module `{key}` reads `padding` zeros around each map: an integer, zero \
                      or more",
        },
    ],
    build: |a| {
        let (k, kh, kw) = (
            a.get("kernel") as usize,
            a.get("kh") as usize,
            a.get("kw") as usize,
        );
        Box::new(Conv {
            maps: a.get("maps") as usize,
            kernel: [if kh > 0 { kh } else { k }, if kw > 0 { kw } else { k }],
            stride: a.get("stride") as usize,
            pad: a.get("padding") as usize,
        })
    },
};

/// A 2-D convolution: `maps` output maps, a `kernel` of `[kh, kw]` (0: not given), one stride
/// and one padding down and across.
struct Conv {
    maps: usize,
    kernel: [usize; 2],
    stride: usize,
    pad: usize,
}

impl Conv {
    /// The output's height and width, if the kernel fits the padded map.
    fn out(&self, [_, h, w]: [usize; 3]) -> Option<[usize; 2]> {
        let [kh, kw] = self.kernel;
        let (s, p2) = (self.stride, self.pad.checked_mul(2)?);
        let side = |n: usize, k: usize| {
            let padded = n.checked_add(p2)?;
            (k > 0 && s > 0 && k <= padded).then(|| (padded - k) / s + 1)
        };
        Some([side(h, kh)?, side(w, kw)?])
    }

    /// For the per-sample kernels with constant row lengths (`conv::fprop_n`, `bprop_n`): the
    /// padded input `HP × WP`, the output's rows `OW`, the padded `dy` `HQ × WQ` and the
    /// input's rows `W`; if the stride is 1, the padding less than the kernel, and both padded
    /// maps at most `MAX_STACK` bytes of `float` values (they are put on the stack).
    fn fixed(&self, x: &[usize], float: FloatTy) -> Option<[usize; 6]> {
        let (&[_, h, w], [kh, kw]) = (x, self.kernel) else {
            return None;
        };
        let p = self.pad;
        if self.stride != 1 || p >= kh || p >= kw {
            return None;
        }
        let [_, ow] = self.out([1, h, w])?;
        let (hp, wp) = (h + 2 * p, w + 2 * p);
        let (hq, wq) = (h.checked_add(kh - 1)?, w.checked_add(kw - 1)?);
        let bytes = match float {
            FloatTy::F32 => 4,
            FloatTy::F64 => 8,
        };
        let small = |a: usize, b: usize| {
            let n = a.checked_mul(b).and_then(|n| n.checked_mul(bytes));
            n.is_some_and(|n| n <= MAX_STACK)
        };
        (small(hp, wp) && small(hq, wq)).then_some([hp, wp, ow, hq, wq, w])
    }

    /// The runtime's geometry for its input's maps, as a constant expression.
    fn geom(&self, s: &dyn Sites) -> TokenStream {
        self.geom_of(&s.shape(0))
    }

    /// The runtime's geometry for input maps `x`, as a constant expression.
    fn geom_of(&self, x: &[usize]) -> TokenStream {
        let rt = crate::emit::rt();
        let ([kh, kw], st, p, maps) = (self.kernel, self.stride, self.pad, self.maps);
        quote!(&const {
            match #rt::conv::Geom::new([#(#x),*], #maps, [#kh, #kw], [#st, #st], [#p, #p]) {
                ::core::option::Option::Some(g) => g,
                ::core::option::Option::None => ::core::panic!("bpnet: a convolution that does not fit"),
            }
        })
    }
}

impl Op for Conv {
    fn name(&self) -> &'static str {
        "conv"
    }
    fn detail(&self, _: &[usize], _: usize) -> String {
        let [kh, kw] = self.kernel;
        format!("conv {kh}×{kw} → {} maps", self.maps)
    }
    fn width(&self, _: &[Option<usize>]) -> Option<usize> {
        None
    }
    fn shape(&self, ins: &[Option<&[usize]>]) -> Option<Vec<usize>> {
        // An input that is not maps, or a kernel that does not fit, is reported by `check`; the
        // output is then of width 0, unknown to the modules after it.
        let out = maps_of(ins)?.and_then(|x| self.out(x));
        Some(match out {
            Some([h, w]) if self.maps > 0 => vec![self.maps, h, w],
            _ => vec![0],
        })
    }
    fn check(&self, view: &WidthView, errs: &mut dyn FnMut(Span, String)) {
        let name = &view.name;
        if self.maps == 0 {
            errs(
                view.option_span("maps"),
                format!("conv module `{name}` makes no maps: `maps` is at least 1"),
            );
        }
        if self.stride == 0 {
            errs(
                view.option_span("stride"),
                format!(
                    "conv module `{name}` has stride 0: its kernel must move, `stride` is at least 1"
                ),
            );
        }
        if self.kernel.contains(&0) {
            errs(
                view.option_span("kernel"),
                format!(
                    "conv module `{name}` needs a kernel size: `kernel = 5`, or `kh = 5, kw = 3` \
                     for a rectangular one"
                ),
            );
            return;
        }
        if not_maps("conv", view, errs) || self.stride == 0 {
            return;
        }
        let arg = &view.args[0];
        let Some(&[c, h, w]) = arg.shape.as_deref() else {
            return;
        };
        if self.out([c, h, w]).is_none() {
            let [kh, kw] = self.kernel;
            let map = if self.pad > 0 {
                format!("a {h}×{w} map padded by {} on each side", self.pad)
            } else {
                format!("a {h}×{w} map")
            };
            errs(
                view.option_span(if self.kernel[0] == self.kernel[1] {
                    "kernel"
                } else {
                    "kh"
                }),
                format!(
                    "conv module `{name}`: a {kh}×{kw} kernel does not fit {map} (`{}` is {c}×{h}×{w})",
                    arg.text
                ),
            );
        }
    }
    fn tensors_shaped(&self, ins: &[&[usize]], _: &[usize]) -> Vec<Tensor> {
        // An input that is not maps (reported) counts as one map.
        let c_in = match ins[0] {
            &[c, _, _] => c,
            _ => 1,
        };
        let [kh, kw] = self.kernel;
        vec![
            Tensor {
                name: "weight",
                shape: vec![self.maps, c_in, kh, kw],
            },
            Tensor {
                name: "bias",
                shape: vec![self.maps],
            },
        ]
    }
    fn pool_doc(&self, _: &[usize], _: usize) -> String {
        "the kernels W (maps × input maps × kh × kw, row-major: PyTorch's `Conv2d` layout), then \
         one bias per map"
            .to_string()
    }
    fn accessors(&self) -> bool {
        true
    }
    fn init(&self, s: &dyn Sites) -> Option<TokenStream> {
        let (k, g, r) = (s.kernels("conv"), self.geom(s), s.range());
        Some(quote!(#k::init(#g, &mut params[#r], rng);))
    }
    fn reserve(&self, ins: &[&[usize]]) -> Option<TokenStream> {
        // The minibatch's products and unfolded patches (for a conv that cannot be made, an
        // error is reported and nothing is reserved).
        if !matches!(ins[0], [_, _, _]) || ins[0].contains(&0) {
            return None;
        }
        let (rt, g) = (crate::emit::rt(), self.geom_of(ins[0]));
        Some(quote!(
            if capacity > 0 {
                #rt::conv::reserve(#g, &mut __gemm)?;
            }
        ))
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let (k, g, r) = (s.kernels("conv"), self.geom(s), s.range());
        let (xa, xo) = (s.x(&s.arg(0)), s.x_mut(&s.out()));
        if s.batch() {
            quote!(#k::fprop_batch(#g, &params[#r], #xa, #xo, rows, &mut self.__gemm);)
        } else if let Some([hp, wp, ow, ..]) = self.fixed(&s.shape(0), s.float_ty()) {
            let (rt, f) = (s.rt(), s.float());
            quote!(#rt::conv::fprop_n::<#f, #hp, #wp, #ow>(#g, &params[#r], #xa, #xo);)
        } else {
            quote!(#k::fprop(#g, &params[#r], #xa, #xo);)
        }
    }
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream {
        let (k, g, r, pool) = (s.kernels("conv"), self.geom(s), s.range(), s.pool());
        let (a, o) = (s.arg(0), s.out());
        let (xa, dxo, dxa) = (s.x(&a), s.d(&o), s.d_mut(&a));
        if let (false, Some([hp, wp, ow, hq, wq, w])) =
            (s.batch(), self.fixed(&s.shape(0), s.float_ty()))
        {
            // Per sample, the kernels with the rows' lengths as constants.
            let (rt, f, add) = (s.rt(), s.float(), acc[0]);
            let square = s.order() == Order::Second;
            return s.full_or_params(
                quote!(#rt::conv::bprop_n::<#f, #hp, #wp, #ow, #hq, #wq, #w>(
                    #g, &params[#r], #xa, #dxo, #dxa, &mut #pool[#r], #add, #square);),
                quote!(#rt::conv::bprop_params_n::<#f, #hp, #wp, #ow>(
                    #g, #xa, #dxo, &mut #pool[#r], #square);),
            );
        }
        let (v, params_only) = (
            s.backward("", if acc[0] { "_acc" } else { "" }),
            s.backward("", "_params"),
        );
        // The first-order minibatch kernels go through the matrix product.
        let rows = match (s.batch(), s.order()) {
            (true, Order::First) => Some(quote!(, rows, &mut self.__gemm)),
            (true, Order::Second) => Some(quote!(, rows)),
            (false, _) => None,
        };
        s.full_or_params(
            quote!(#k::#v(#g, &params[#r], #xa, #dxo, #dxa, &mut #pool[#r] #rows);),
            quote!(#k::#params_only(#g, #xa, #dxo, &mut #pool[#r] #rows);),
        )
    }
}

pub const SUBSAMPLE: Entry = Entry {
    name: "subsample",
    flow: Flow::Module,
    arity: Arity::Exactly(1),
    usage: "`subsample(x, size = 2)`",
    no_arrow: Some("makes maps `size` times smaller down and across"),
    options: &[SIZE],
    build: |a| {
        Box::new(Window {
            kind: "subsample",
            size: a.get("size") as usize,
        })
    },
};

pub const MAXPOOL: Entry = Entry {
    name: "maxpool",
    flow: Flow::Module,
    arity: Arity::Exactly(1),
    usage: "`maxpool(x, size = 2)`",
    no_arrow: Some("makes maps `size` times smaller down and across"),
    options: &[SIZE],
    build: |a| {
        Box::new(Window {
            kind: "maxpool",
            size: a.get("size") as usize,
        })
    },
};

/// Maps cut into `size × size` windows side by side: LeNet-5's subsampling (with a coefficient
/// and a bias per map) or max pooling (no parameters).
struct Window {
    kind: &'static str,
    size: usize,
}

impl Window {
    fn params(&self) -> bool {
        self.kind == "subsample"
    }

    /// The runtime's window over input maps `x`, as a constant expression.
    fn geom(&self, s: &dyn Sites) -> TokenStream {
        let rt = s.rt();
        let (x, size) = (s.shape(0), self.size);
        quote!(&const {
            match #rt::subsample::Window::new([#(#x),*], #size) {
                ::core::option::Option::Some(g) => g,
                ::core::option::Option::None => ::core::panic!("bpnet: windows that do not fit"),
            }
        })
    }
}

impl Op for Window {
    fn name(&self) -> &'static str {
        self.kind
    }
    fn detail(&self, _: &[usize], _: usize) -> String {
        format!("{} {}×{}", self.kind, self.size, self.size)
    }
    fn width(&self, _: &[Option<usize>]) -> Option<usize> {
        None
    }
    fn shape(&self, ins: &[Option<&[usize]>]) -> Option<Vec<usize>> {
        // As `conv`'s: of width 0 where `check` reports a mistake.
        let size = self.size;
        Some(match maps_of(ins)? {
            Some([c, h, w]) if size > 0 && h % size == 0 && w % size == 0 => {
                vec![c, h / size, w / size]
            }
            _ => vec![0],
        })
    }
    fn check(&self, view: &WidthView, errs: &mut dyn FnMut(Span, String)) {
        let (name, kind, size) = (&view.name, self.kind, self.size);
        if size == 0 {
            errs(
                view.option_span("size"),
                format!("{kind} module `{name}` has windows of size 0: `size` is at least 1"),
            );
            return;
        }
        if not_maps(kind, view, errs) {
            return;
        }
        let arg = &view.args[0];
        let Some(&[c, h, w]) = arg.shape.as_deref() else {
            return;
        };
        for (side, n) in [("height", h), ("width", w)] {
            if n % size != 0 {
                let by = if size == 2 {
                    format!("an even {side}")
                } else {
                    format!("a {side} that is a multiple of {size}")
                };
                errs(
                    view.option_span("size"),
                    format!(
                        "{kind} module `{name}`: windows of {size}×{size} need {by}, `{}` is \
                         {c}×{h}×{w}",
                        arg.text
                    ),
                );
                return;
            }
        }
    }
    fn tensors_shaped(&self, ins: &[&[usize]], _: &[usize]) -> Vec<Tensor> {
        if !self.params() {
            return Vec::new();
        }
        let c = match ins[0] {
            &[c, _, _] => c,
            _ => 1,
        };
        vec![
            Tensor {
                name: "weight",
                shape: vec![c],
            },
            Tensor {
                name: "bias",
                shape: vec![c],
            },
        ]
    }
    fn pool_doc(&self, _: &[usize], _: usize) -> String {
        "one coefficient per map, then one bias per map".to_string()
    }
    fn accessors(&self) -> bool {
        self.params()
    }
    fn init(&self, s: &dyn Sites) -> Option<TokenStream> {
        let (k, g, r) = (s.kernels("subsample"), self.geom(s), s.range());
        self.params()
            .then(|| quote!(#k::init(#g, &mut params[#r]);))
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let (k, g) = (s.kernels(self.kind), self.geom(s));
        let (xa, xo) = (s.x(&s.arg(0)), s.x_mut(&s.out()));
        let p = self.params().then(|| {
            let r = s.range();
            quote!(&params[#r],)
        });
        if s.batch() {
            quote!(#k::fprop_batch(#g, #p #xa, #xo, rows);)
        } else {
            quote!(#k::fprop(#g, #p #xa, #xo);)
        }
    }
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream {
        let (k, g) = (s.kernels(self.kind), self.geom(s));
        let (a, o) = (s.arg(0), s.out());
        let (xa, dxo, dxa) = (s.x(&a), s.d(&o), s.d_mut(&a));
        let v = s.backward("", if acc[0] { "_acc" } else { "" });
        let rows = s.batch().then(|| quote!(, rows));
        if !self.params() {
            return s.unless_skipped(0, quote!(#k::#v(#g, #xa, #dxo, #dxa #rows);));
        }
        let (r, pool, params_only) = (s.range(), s.pool(), s.backward("", "_params"));
        s.full_or_params(
            quote!(#k::#v(#g, &params[#r], #xa, #dxo, #dxa, &mut #pool[#r] #rows);),
            quote!(#k::#params_only(#g, #xa, #dxo, &mut #pool[#r] #rows);),
        )
    }
}
