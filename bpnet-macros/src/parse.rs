//! Parsing the declaration, with `syn::parse::Parse` impls.
//!
//! The body is split into statements at top-level `;` and each is parsed on its own, so a syntax
//! error in one statement is reported and the others are still checked.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned as _;
use syn::{Attribute, Ident, LitInt, Path, Token, Visibility, braced, parenthesized};

use crate::limits::{self, MAX_STEPS, MAX_WIDTH};

/// Custom keywords of the DSL.
pub mod kw {
    syn::custom_keyword!(input);
    syn::custom_keyword!(target);
    syn::custom_keyword!(output);
    syn::custom_keyword!(energy);
    syn::custom_keyword!(unfold);
    syn::custom_keyword!(initial);
    syn::custom_keyword!(zeros);
    syn::custom_keyword!(learned);
}

/// The element type the network is declared with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FloatTy {
    F32,
    F64,
}

/// `network! { #[attrs] vis struct Name { statements } }`
pub struct NetworkDef {
    /// Attributes passed through to the struct (docs, lints).
    pub attrs: Vec<Attribute>,
    pub float: FloatTy,
    pub vis: Visibility,
    pub name: Ident,
    pub stmts: Vec<Stmt>,
    /// Errors found while parsing, reported together with the checker's.
    pub errors: Vec<syn::Error>,
    /// `#[bpnet(…)]` had an error: the float is a guess, not to be checked against.
    pub float_unknown: bool,
}

pub enum Stmt {
    Decl(Decl),
    Assign(Box<Assign>),
    /// A statement with a syntax error (already reported) whose state name could be read, so
    /// that other statements reading it do not add errors of their own.
    Broken(Broken),
    Unfold(Unfold),
    Initial(Initial),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum DeclRole {
    Input,
    Target,
}

/// `input x: 2;` or `target y: 1;`
pub struct Decl {
    pub attrs: Vec<Attribute>,
    pub role: DeclRole,
    pub name: Ident,
    pub width: Width,
}

/// A literal width, with its tokens for error spans: `64`, or a shape `[1, 8, 8]` (maps ×
/// height × width, stored flat, row-major), whose width is the product of its sizes and whose
/// `lit` spans the brackets.
#[derive(Clone)]
pub struct Width {
    pub value: usize,
    pub lit: LitInt,
    /// The sizes of a shape written in brackets.
    pub dims: Option<Vec<usize>>,
}

impl Width {
    /// The shape: the sizes written, or `[value]` for a plain width.
    pub fn shape(&self) -> Vec<usize> {
        self.dims.clone().unwrap_or_else(|| vec![self.value])
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AssignRole {
    Output,
    Energy,
}

/// `[output|energy] state[: width] = [module:] kind(args [-> width]);`
pub struct Assign {
    pub attrs: Vec<Attribute>,
    pub role: Option<(AssignRole, Span)>,
    pub state: Ident,
    pub width: Option<Width>,
    pub module: Option<Ident>,
    pub call: Call,
}

/// `kind(a, b -> n)`, or `kind(a, b, name = value)` for a loss's options.
pub struct Call {
    pub kind: Path,
    pub args: Vec<Ident>,
    /// Per argument, the step it is read at when written `h[t - k]`.
    pub delays: Vec<Option<Delay>>,
    pub out_width: Option<(Token![->], Width)>,
    /// `name = value` after the arguments (`nll(e, y, beta = 2.0)`).
    pub options: Vec<CallOption>,
    /// The span of the closing parenthesis.
    pub paren_span: Span,
}

/// `name = value` in a call: a number or a switch a module is declared with (`beta = 2.0`,
/// `slope = 0.1`, `bias = false`).
pub struct CallOption {
    pub name: Ident,
    pub value: OptLit,
    /// The tokens `name = value`, for errors.
    pub tokens: TokenStream,
}

/// The value of an option as written.
#[derive(Clone, Copy)]
pub enum OptLit {
    /// A number, and whether it was written as an integer (`2`, not `2.0`).
    Num(f64, bool),
    Bool(bool),
}

impl Parse for CallOption {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name: Ident = input.parse()?;
        let eq: Token![=] = input.parse()?;
        let mut tokens = TokenStream::new();
        tokens.extend([TokenTree::Ident(name.clone())]);
        tokens.extend(quote::ToTokens::to_token_stream(&eq));
        if input.peek(syn::LitBool) {
            let b = input.parse::<syn::LitBool>()?;
            tokens.extend(quote::ToTokens::to_token_stream(&b));
            return Ok(CallOption {
                name,
                value: OptLit::Bool(b.value),
                tokens,
            });
        }
        let minus = input.parse::<Option<Token![-]>>()?;
        let (v, lit, int) = if input.peek(syn::LitFloat) {
            let l = input.parse::<syn::LitFloat>()?;
            no_suffix(&l.token(), l.suffix())?;
            (l.base10_parse::<f64>()?, l.token(), false)
        } else if input.peek(LitInt) {
            let l = input.parse::<LitInt>()?;
            no_suffix(&l.token(), l.suffix())?;
            (l.base10_parse::<f64>()?, l.token(), true)
        } else {
            return Err(input.error(format!(
                "expected a value after `{name} =`: a number (`{name} = 0.5`, `{name} = 2`) or \
                 `true` / `false`"
            )));
        };
        tokens.extend(minus.map(|m| quote::ToTokens::to_token_stream(&m)));
        tokens.extend([TokenTree::Literal(lit)]);
        Ok(CallOption {
            name,
            value: OptLit::Num(if minus.is_some() { -v } else { v }, int),
            tokens,
        })
    }
}

/// A shape, `[1, 8, 8]`: sizes of at least 1, whose product is at most [`MAX_WIDTH`].
fn parse_shape(input: ParseStream) -> syn::Result<Width> {
    let content;
    let brackets = syn::bracketed!(content in input);
    let lits = syn::punctuated::Punctuated::<LitInt, Token![,]>::parse_terminated(&content)
        .map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a shape: sizes in brackets, as in `[1, 8, 8]`",
            )
        })?;
    let span = brackets.span.join();
    if lits.is_empty() {
        return Err(syn::Error::new(
            span,
            "a shape has at least one size, as in `[1, 8, 8]`",
        ));
    }
    let mut dims = Vec::new();
    for lit in &lits {
        if !lit.suffix().is_empty() && lit.suffix() != "usize" {
            return Err(syn::Error::new(
                lit.span(),
                "a size is a plain integer literal, without a type suffix",
            ));
        }
        match limits::at_most(lit, MAX_WIDTH) {
            Some(0) => {
                return Err(syn::Error::new(
                    lit.span(),
                    "a size in a shape is at least 1",
                ));
            }
            Some(d) => dims.push(d),
            None => {
                return Err(syn::Error::new(
                    lit.span(),
                    format!(
                        "size {} is too large: a state has at most {} components",
                        lit.base10_digits(),
                        limits::show(MAX_WIDTH)
                    ),
                ));
            }
        }
    }
    let value = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&v| v <= MAX_WIDTH)
        .ok_or_else(|| {
            let sizes: Vec<String> = dims.iter().map(usize::to_string).collect();
            syn::Error::new(
                span,
                format!(
                    "shape {} is too large: a state's width (the product of its sizes) is at most \
                     {} components (a state is fixed-size arrays inside the network's struct)",
                    sizes.join(" × "),
                    limits::show(MAX_WIDTH)
                ),
            )
        })?;
    Ok(Width {
        value,
        lit: LitInt::new(&value.to_string(), span),
        dims: Some(dims),
    })
}

impl Parse for Width {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(syn::token::Bracket) {
            return parse_shape(input);
        }
        let lit: LitInt = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a width: an integer literal such as `4`")
        })?;
        if !lit.suffix().is_empty() && lit.suffix() != "usize" {
            return Err(syn::Error::new(
                lit.span(),
                "a width is a plain integer literal, without a type suffix",
            ));
        }
        let value = limits::at_most(&lit, MAX_WIDTH).ok_or_else(|| {
            syn::Error::new(
                lit.span(),
                format!(
                    "width {} is too large: a state's width is at most {} components (a state is \
                     fixed-size arrays inside the network's struct)",
                    lit.base10_digits(),
                    limits::show(MAX_WIDTH)
                ),
            )
        })?;
        Ok(Width {
            value,
            lit,
            dims: None,
        })
    }
}

/// `T` of `unfold T`: an integer literal without a suffix, at most [`MAX_STEPS`].
fn parse_steps(input: ParseStream) -> syn::Result<Width> {
    let lit: LitInt = input.parse()?;
    if !lit.suffix().is_empty() && lit.suffix() != "usize" {
        return Err(syn::Error::new(
            lit.span(),
            "the number of steps is a plain integer literal, without a type suffix",
        ));
    }
    let value = limits::at_most(&lit, MAX_STEPS).ok_or_else(|| {
        syn::Error::new(
            lit.span(),
            format!(
                "`unfold {}`: too many steps; a network is unfolded over at most {} steps (every \
                 per-step state keeps one value per step)",
                lit.base10_digits(),
                limits::show(MAX_STEPS)
            ),
        )
    })?;
    Ok(Width {
        value,
        lit,
        dims: None,
    })
}

/// A step in `h[t - k]` or `e[a..b]`: an integer literal without a suffix, at most
/// [`MAX_STEPS`].
fn parse_step(input: ParseStream, what: &str) -> syn::Result<usize> {
    let lit: LitInt = input.parse()?;
    if !lit.suffix().is_empty() && lit.suffix() != "usize" {
        return Err(syn::Error::new(
            lit.span(),
            format!("{what} is a plain integer literal, without a type suffix"),
        ));
    }
    limits::at_most(&lit, MAX_STEPS).ok_or_else(|| {
        syn::Error::new(
            lit.span(),
            format!(
                "{what} {} is too large: a network is unfolded over at most {} steps",
                lit.base10_digits(),
                limits::show(MAX_STEPS)
            ),
        )
    })
}

impl Parse for Call {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let kind: Path = input.parse()?;
        let content;
        let paren = parenthesized!(content in input);
        let mut args = Vec::new();
        let mut delays = Vec::new();
        let mut out_width = None;
        let mut options: Vec<CallOption> = Vec::new();
        while !content.is_empty() {
            if content.peek(Ident)
                && content.peek2(Token![=])
                && !content.peek2(Token![==])
                && !content.peek2(Token![=>])
            {
                options.push(content.parse()?);
                if content.is_empty() {
                    break;
                }
                if !content.peek(Token![,]) {
                    return Err(content.error("expected `,` before the next option, or `)`"));
                }
                content.parse::<Token![,]>()?;
                continue;
            }
            if let Some(last) = options.last() {
                return Err(syn::Error::new(
                    content.span(),
                    format!(
                        "expected another option `name = value`, or `)`: the input states come \
                         before the options (here `{}`)",
                        last.name
                    ),
                ));
            }
            if content.peek(Token![->]) {
                let arrow: Token![->] = content.parse()?;
                let width: Width = content.parse()?;
                if width.dims.is_some() {
                    return Err(syn::Error::new(
                        width.lit.span(),
                        "an output width `-> N` is a number; a shape is declared on the state, as \
                         in `s: [2, 3] = l: linear(x -> 6)`",
                    ));
                }
                out_width = Some((arrow, width));
                if content.is_empty() {
                    break;
                }
                if !(content.peek(Token![,]) && content.peek2(Ident) && content.peek3(Token![=])) {
                    return Err(content.error(
                        "expected `)` after the output width, or `, name = value` options",
                    ));
                }
                content.parse::<Token![,]>()?;
                continue;
            }
            let arg = content
                .parse::<Ident>()
                .map_err(|e| syn::Error::new(e.span(), "expected the name of a state"))?;
            delays.push(if content.peek(syn::token::Bracket) {
                Some(parse_delay(&content, &arg)?)
            } else {
                None
            });
            args.push(arg);
            if content.is_empty() || content.peek(Token![->]) {
                continue;
            }
            if !content.peek(Token![,]) {
                return Err(content.error(format!(
                    "expected `,` before the next input state, or `-> N` (linear's output width) \
                     after `{}`",
                    args.last().expect("an argument was just parsed")
                )));
            }
            content.parse::<Token![,]>()?;
        }
        Ok(Call {
            kind,
            args,
            delays,
            out_width,
            options,
            paren_span: paren.span.close(),
        })
    }
}

/// `[t]`, `[t - k]` or `[t + k]` after a state: the step it is read at, relative to the current
/// one; or `[a..b]`: a range of steps, for `sum`.
#[derive(Clone)]
pub struct Delay {
    /// `-k` for `t - k`.
    pub offset: i64,
    /// `a..b` for `e[a..b]` (in `sum`): the steps gathered, `b` open for "to the end".
    pub range: Option<(usize, Option<usize>)>,
    /// The tokens `name[ … ]`, for errors.
    pub tokens: TokenStream,
}

fn parse_delay(content: ParseStream, arg: &Ident) -> syn::Result<Delay> {
    let inner;
    let brackets = syn::bracketed!(inner in content);
    let mut tokens = TokenStream::new();
    tokens.extend([
        TokenTree::Ident(arg.clone()),
        TokenTree::Ident(Ident::new("close", brackets.span.close())),
    ]);
    // `e[a..b]`, `e[a..]`, `e[..b]`: the steps `sum` gathers.
    if inner.peek(LitInt) || inner.peek(Token![..]) {
        let start = if inner.peek(LitInt) {
            parse_step(&inner, "the first step of a range")?
        } else {
            0
        };
        inner.parse::<Token![..]>()?;
        let end = if inner.peek(LitInt) {
            Some(parse_step(&inner, "the end of a range of steps")?)
        } else {
            None
        };
        if !inner.is_empty() {
            return Err(inner.error("expected `]`: a range of steps is written `a..b`"));
        }
        return Ok(Delay {
            offset: 0,
            range: Some((start, end)),
            tokens,
        });
    }
    let t: Ident = inner.parse()?;
    if t != "t" {
        return Err(syn::Error::new(
            t.span(),
            "a step is written relative to the current step `t`: `h[t - 1]`",
        ));
    }
    let offset = if inner.peek(Token![-]) || inner.peek(Token![+]) {
        let minus = inner.peek(Token![-]);
        let _: proc_macro2::Punct = inner.parse()?;
        let k = parse_step(&inner, "a delay")? as i64;
        if minus { -k } else { k }
    } else {
        0
    };
    if !inner.is_empty() {
        return Err(inner.error("expected `]`: a step is written `t - k` with a literal `k`"));
    }
    Ok(Delay {
        offset,
        range: None,
        tokens,
    })
}

/// `unfold T { statements }`: the statements inside are repeated at every step `t < T`.
pub struct Unfold {
    pub steps: Width,
    /// The tokens `unfold T`, for errors.
    pub head: TokenStream,
    pub stmts: Vec<Stmt>,
    /// The error for steps that are not a literal (the block is still checked, as if `T = 1`).
    pub bad_steps: Option<syn::Error>,
    /// The syntax errors of its statements (each broken statement is kept as [`Broken`], so the
    /// rest of the block is still checked).
    pub errors: Vec<syn::Error>,
}

/// `initial h = zeros | learned | [v, …];`: the value a delayed read of `h` sees before step 0.
pub struct Initial {
    pub state: Ident,
    pub value: InitialValue,
}

pub enum InitialValue {
    Zeros,
    Learned,
    /// Constant values, with the tokens of the list and of each value (`-`, the literal) for
    /// errors.
    Values(Vec<f64>, TokenStream, Vec<TokenStream>),
}

/// A number an option or an initial value is declared with is plain: it takes the network's
/// float (`#[bpnet(float = …)]`), so a suffix (`2u8`, `0.5f32`) would say something else.
fn no_suffix(lit: &proc_macro2::Literal, suffix: &str) -> syn::Result<()> {
    if suffix.is_empty() {
        return Ok(());
    }
    Err(syn::Error::new(
        lit.span(),
        format!(
            "a number here is plain, without a type suffix (`{suffix}`): it takes the network's \
             float, `f32` unless `#[bpnet(float = f64)]` says otherwise"
        ),
    ))
}

impl Parse for InitialValue {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(kw::zeros) {
            input.parse::<kw::zeros>()?;
            return Ok(InitialValue::Zeros);
        }
        if input.peek(kw::learned) {
            input.parse::<kw::learned>()?;
            return Ok(InitialValue::Learned);
        }
        if !input.peek(syn::token::Bracket) {
            return Err(input.error(
                "expected an initial value: `zeros`, `learned`, or a list of numbers `[0.5, -1.0]`",
            ));
        }
        let content;
        let brackets = syn::bracketed!(content in input);
        let (mut values, mut each) = (Vec::new(), Vec::new());
        while !content.is_empty() {
            let minus = content.parse::<Option<Token![-]>>()?;
            let (v, lit) = if content.peek(syn::LitFloat) {
                let l = content.parse::<syn::LitFloat>()?;
                no_suffix(&l.token(), l.suffix())?;
                (l.base10_parse::<f64>()?, l.token())
            } else {
                let l = content.parse::<LitInt>()?;
                no_suffix(&l.token(), l.suffix())?;
                (l.base10_parse::<f64>()?, l.token())
            };
            let mut tokens = TokenStream::new();
            tokens.extend(minus.map(|m| quote::ToTokens::to_token_stream(&m)));
            tokens.extend([TokenTree::Literal(lit)]);
            each.push(tokens);
            values.push(if minus.is_some() { -v } else { v });
            if !content.is_empty() {
                content.parse::<Token![,]>()?;
            }
        }
        let mut tokens = TokenStream::new();
        tokens.extend([
            TokenTree::Ident(Ident::new("open", brackets.span.open())),
            TokenTree::Ident(Ident::new("close", brackets.span.close())),
        ]);
        Ok(InitialValue::Values(values, tokens, each))
    }
}

impl Parse for Stmt {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let stmt = parse_stmt(input)?;
        if !input.is_empty() {
            input.parse::<Token![;]>()?;
        }
        if !input.is_empty() {
            return Err(input.error("expected `;`"));
        }
        Ok(stmt)
    }
}

/// A statement up to its `;` (an `unfold` block, which ends at its `}`, and an `initial` line
/// take theirs).
fn parse_stmt(input: ParseStream) -> syn::Result<Stmt> {
    let attrs = input.call(Attribute::parse_outer)?;
    if input.peek(kw::unfold) && !input.peek2(Token![=]) && !input.peek2(Token![:]) {
        let kw: kw::unfold = input.parse()?;
        // Anything but a literal is reported, and the block is still read.
        let (steps, bad_steps) = if input.peek(LitInt) {
            match parse_steps(input) {
                Ok(steps) => (steps, None),
                Err(err) => (
                    Width {
                        value: 1,
                        lit: LitInt::new("1", kw.span),
                        dims: None,
                    },
                    Some(err),
                ),
            }
        } else {
            let mut bad = TokenStream::new();
            while !input.peek(syn::token::Brace) && !input.is_empty() {
                bad.extend([input.parse::<TokenTree>()?]);
            }
            if bad.is_empty() {
                bad.extend([TokenTree::Ident(Ident::new("unfold", kw.span))]);
            }
            let err = syn::Error::new_spanned(
                &bad,
                "the number of steps is an integer literal, as in `unfold 16 { … }`",
            );
            let lit = LitInt::new("1", kw.span);
            let width = Width {
                value: 1,
                lit,
                dims: None,
            };
            (width, Some(err))
        };
        let content;
        braced!(content in input);
        let body: TokenStream = content.parse()?;
        input.parse::<Option<Token![;]>>()?;
        if !input.is_empty() {
            return Err(input.error("expected a statement after the `unfold` block"));
        }
        let mut head = TokenStream::new();
        head.extend([
            TokenTree::Ident(Ident::new("unfold", kw.span)),
            TokenTree::Literal(steps.lit.token()),
        ]);
        let mut errors = Vec::new();
        let stmts = parse_statements(body, &mut errors);
        return Ok(Stmt::Unfold(Unfold {
            steps,
            head,
            stmts,
            bad_steps,
            errors,
        }));
    }
    if input.peek(kw::initial) && input.peek2(Ident) {
        input.parse::<kw::initial>()?;
        let state: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        return Ok(Stmt::Initial(Initial { state, value }));
    }
    Ok(if input.peek(kw::input) && input.peek2(Ident) {
        input.parse::<kw::input>()?;
        Stmt::Decl(parse_decl(input, attrs, DeclRole::Input)?)
    } else if input.peek(kw::target) && input.peek2(Ident) {
        input.parse::<kw::target>()?;
        Stmt::Decl(parse_decl(input, attrs, DeclRole::Target)?)
    } else {
        Stmt::Assign(Box::new(parse_assign(input, attrs)?))
    })
}

fn parse_decl(input: ParseStream, attrs: Vec<Attribute>, role: DeclRole) -> syn::Result<Decl> {
    let name: Ident = input.parse()?;
    input.parse::<Token![:]>()?;
    let width = input.parse()?;
    Ok(Decl {
        attrs,
        role,
        name,
        width,
    })
}

fn parse_assign(input: ParseStream, attrs: Vec<Attribute>) -> syn::Result<Assign> {
    // `energy = …` names the state `energy`; `energy e = …` names it `e`. Same for `output`.
    let mut role = None;
    for (kind, peek) in [
        (AssignRole::Energy, input.peek(kw::energy)),
        (AssignRole::Output, input.peek(kw::output)),
    ] {
        if peek && (input.peek2(Ident) || input.peek2(Token![=]) || input.peek2(Token![:])) {
            role = Some((kind, input.span()));
            if input.peek2(Ident) {
                input.parse::<Ident>()?;
            }
        }
    }
    let state: Ident = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected a statement: `input x: N;`, `target y: N;` or `state = module: kind(args);`",
        )
    })?;
    let width = if input.peek(Token![:]) {
        input.parse::<Token![:]>()?;
        Some(input.parse()?)
    } else {
        None
    };
    input.parse::<Token![=]>()?;
    let module = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
        let m: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        Some(m)
    } else {
        None
    };
    let call = input.parse()?;
    Ok(Assign {
        attrs,
        role,
        state,
        width,
        module,
        call,
    })
}

impl Parse for NetworkDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let mut errors = Vec::new();
        let mut float = FloatTy::F32;
        let mut float_unknown = false;
        attrs.retain(|attr| {
            if !attr.path().is_ident("bpnet") {
                return true;
            }
            let res = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("float") {
                    let ty: Ident = meta.value()?.parse()?;
                    float = match ty.to_string().as_str() {
                        "f32" => FloatTy::F32,
                        "f64" => FloatTy::F64,
                        other => {
                            return Err(syn::Error::new(
                                ty.span(),
                                format!("a network's float is `f32` or `f64`, not `{other}`"),
                            ));
                        }
                    };
                    Ok(())
                } else {
                    Err(meta.error("unknown bpnet option; the one option is `float = f32 | f64`"))
                }
            });
            if let Err(e) = res {
                errors.push(e);
                float_unknown = true;
            }
            false
        });
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        if input.peek(Token![<]) {
            return Err(input.error(
                "a network cannot be generic: its widths are integer literals, checked when it compiles",
            ));
        }
        let content;
        braced!(content in input);
        let body: TokenStream = content.parse()?;
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the network's body"));
        }
        let stmts = parse_statements(body, &mut errors);
        Ok(NetworkDef {
            attrs,
            float,
            vis,
            name,
            stmts,
            errors,
            float_unknown,
        })
    }
}

/// What can still be read of a statement with a syntax error: its role, its state, the state's
/// width and the module's name, so that the rest of the network is checked without cascades.
pub struct Broken {
    pub role: BrokenRole,
    pub name: Ident,
    pub width: Option<Width>,
    pub module: Option<Ident>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BrokenRole {
    Input,
    Target,
    Energy,
    Output,
    Hidden,
}

impl Parse for Broken {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        input.call(Attribute::parse_outer)?;
        if (input.peek(kw::input) || input.peek(kw::target)) && input.peek2(Ident) {
            let role = if input.peek(kw::input) {
                BrokenRole::Input
            } else {
                BrokenRole::Target
            };
            input.parse::<Ident>()?;
            let name = input.parse()?;
            let width = input
                .parse::<Token![:]>()
                .and_then(|_| input.parse::<Width>())
                .ok();
            input.parse::<TokenStream>()?;
            return Ok(Broken {
                role,
                name,
                width,
                module: None,
            });
        }
        let mut role = BrokenRole::Hidden;
        if (input.peek(kw::output) || input.peek(kw::energy))
            && (input.peek2(Ident) || input.peek2(Token![=]) || input.peek2(Token![:]))
        {
            role = if input.peek(kw::energy) {
                BrokenRole::Energy
            } else {
                BrokenRole::Output
            };
            if input.peek2(Ident) {
                input.parse::<Ident>()?;
            }
        }
        let name = input.parse()?;
        let width = if input.peek(Token![:]) {
            input.parse::<Token![:]>()?;
            input.parse().ok()
        } else {
            None
        };
        input.parse::<Token![=]>()?;
        let module = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let m = input.parse()?;
            input.parse::<Token![:]>()?;
            Some(m)
        } else {
            None
        };
        input.parse::<TokenStream>()?;
        Ok(Broken {
            role,
            name,
            width,
            module,
        })
    }
}

/// Parses a body statement by statement, recovering after a syntax error.
fn parse_statements(body: TokenStream, errors: &mut Vec<syn::Error>) -> Vec<Stmt> {
    let mut stmts = Vec::new();
    for segment in split_statements(body) {
        // A lone `;` after an `unfold` block.
        if segment.to_string().trim() == ";" {
            continue;
        }
        for part in missing_semicolons(segment, errors) {
            match parse_all::<Stmt>(part.clone()) {
                Ok(stmt) => stmts.push(stmt),
                Err(e) => {
                    errors.push(e);
                    let broken = parse_all::<Broken>(part.clone())
                        .or_else(|_| parse_all::<Broken>(missing_eq(part)?));
                    if let Ok(broken) = broken {
                        stmts.push(Stmt::Broken(broken));
                    }
                }
            }
        }
    }
    stmts
}

/// `out = l: linear(h -> 1) energy = …;`: statements run together where a `;` is missing. Each
/// missing `;` is one error, at the token it goes after, and each statement is read on its own,
/// so that none is lost (with the states it defines) to another's mistake. A split is made only
/// after a token that can end a statement, and only where both sides begin like statements.
fn missing_semicolons(segment: TokenStream, errors: &mut Vec<syn::Error>) -> Vec<TokenStream> {
    if parse_all::<Stmt>(segment.clone()).is_ok() {
        return vec![segment];
    }
    let tokens: Vec<TokenTree> = segment.into_iter().collect();
    let (mut parts, mut start) = (Vec::new(), 0);
    for k in 1..tokens.len() {
        if !ends_statement(&tokens[k - 1])
            || !begins_statement(&tokens[k..])
            || !begins_statement(&tokens[start..k])
        {
            continue;
        }
        let at = match &tokens[k - 1] {
            TokenTree::Group(g) => g.span_close(),
            other => other.span(),
        };
        let before = match &tokens[k] {
            TokenTree::Ident(next) => format!(", before `{next}`"),
            _ => String::new(),
        };
        errors.push(syn::Error::new(
            at,
            format!("expected `;` after this statement{before}"),
        ));
        parts.push(tokens[start..k].iter().cloned().collect());
        start = k;
    }
    parts.push(tokens[start..].iter().cloned().collect());
    parts
}

/// `out tanh(h)`, `energy e euclidean(…)`: a statement without its `=` (reported), with the `=`
/// put back after its name, so that [`Broken`] can read the state it defines. An error if the
/// tokens are not a name followed by a kind or a module's name.
fn missing_eq(part: TokenStream) -> syn::Result<TokenStream> {
    let tokens: Vec<TokenTree> = part.into_iter().collect();
    let mut i = 0;
    // Attributes: `#` and `[…]`.
    while matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == '#') {
        i += 2;
    }
    let ident = |i: usize| matches!(tokens.get(i), Some(TokenTree::Ident(_)));
    let role = |i: usize| matches!(tokens.get(i), Some(TokenTree::Ident(r)) if r == "output" || r == "energy");
    if role(i) && ident(i + 1) && ident(i + 2) {
        i += 1;
    }
    if !(ident(i) && ident(i + 1)) {
        return Err(syn::Error::new(Span::call_site(), "not a statement"));
    }
    let mut out: Vec<TokenTree> = tokens[..=i].to_vec();
    let mut eq = proc_macro2::Punct::new('=', proc_macro2::Spacing::Alone);
    eq.set_span(tokens[i].span());
    out.push(TokenTree::Punct(eq));
    out.extend(tokens[i + 1..].iter().cloned());
    Ok(out.into_iter().collect())
}

/// The last token of a statement: a call's `)`, a width, an initial value.
fn ends_statement(tt: &TokenTree) -> bool {
    match tt {
        TokenTree::Group(g) => matches!(
            g.delimiter(),
            proc_macro2::Delimiter::Parenthesis | proc_macro2::Delimiter::Bracket
        ),
        TokenTree::Literal(_) => true,
        TokenTree::Ident(i) => i == "zeros" || i == "learned",
        TokenTree::Punct(_) => false,
    }
}

/// Whether `tokens` begin like a statement: as far as [`Broken`] reads one, or an `unfold` block
/// or an `initial` line.
fn begins_statement(tokens: &[TokenTree]) -> bool {
    match tokens {
        [TokenTree::Ident(u), ..] if u == "unfold" => true,
        [TokenTree::Ident(i), TokenTree::Ident(_), ..] if i == "initial" => true,
        _ => parse_all::<Broken>(tokens.iter().cloned().collect()).is_ok(),
    }
}

/// `tokens` parsed as a `T`, all of them. Unlike `syn::parse2`, an error at their end ("expected
/// `;`", "unexpected end of input") points at their last token, not at the macro's call site
/// (the whole invocation): they are parsed as the contents of a group spanned there.
pub fn parse_all<T: Parse>(tokens: TokenStream) -> syn::Result<T> {
    let Some(last) = tokens.clone().into_iter().last() else {
        return syn::parse2(tokens);
    };
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, tokens);
    group.set_span(last.span());
    let parser = |input: ParseStream| {
        let content;
        braced!(content in input);
        let t = content.parse::<T>()?;
        if !content.is_empty() {
            return Err(content.error("unexpected token"));
        }
        Ok(t)
    };
    syn::parse::Parser::parse2(parser, TokenTree::Group(group).into())
}

/// Splits the body after each top-level `;` (kept with its statement, so errors at the end of a
/// statement point at its `;`).
fn split_statements(body: TokenStream) -> Vec<TokenStream> {
    let mut out = Vec::new();
    let mut current: Vec<TokenTree> = Vec::new();
    for tt in body {
        // `unfold T { … }` ends at its block.
        let block_end = matches!(&tt, TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace)
            && current
                .iter()
                .any(|t| matches!(t, TokenTree::Ident(i) if i == "unfold"));
        let end = matches!(&tt, TokenTree::Punct(p) if p.as_char() == ';');
        current.push(tt);
        if end || block_end {
            out.push(current.drain(..).collect());
        }
    }
    if !current.is_empty() {
        out.push(current.into_iter().collect());
    }
    out
}

impl Call {
    /// The tokens of the whole call, `kind(` … `)`, for errors about the module as a whole.
    pub fn tokens(&self) -> TokenStream {
        let first = self.kind.span();
        let mut ts = TokenStream::new();
        ts.extend([
            TokenTree::Ident(Ident::new("kind", first)),
            TokenTree::Ident(Ident::new("close", self.paren_span)),
        ]);
        ts
    }
}
