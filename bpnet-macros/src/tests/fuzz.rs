//! The fuzz test: the macro never panics, and every error it reports points into its input.
//!
//! Seeds are every declaration of the workspace ([`corpus::declarations`]) and a few written
//! here with every kind of module. A mutant is a seed with one to three mutations at any depth
//! of its token tree: a token deleted, duplicated or swapped with a neighbour, a number replaced
//! by an edge case (`0`, `-1`, `2.5`, `1e400`, `18446744073709551616`, …), an identifier
//! replaced by a keyword or by another identifier of the declaration. Each mutant is printed and
//! parsed back, so its spans are real line/column positions (proc-macro2's `span-locations`), then
//! expanded by [`expand_network`] under `catch_unwind`. It must either expand (no
//! `compile_error!` in the output) or report errors whose every token lies between the input's
//! first and last token: never at the call site.
//!
//! The mutants are split between up to four threads, each with its own generator (seeded from
//! one fixed seed) and its own source map, emptied after every mutant. 100,000 mutants take about
//! a minute on two cores (the macro and its parsers are built with `opt-level = 2` in the dev
//! profile; the fallback items emitted next to the errors are most of the time).
//! `BPNET_FUZZ_MUTANTS=n` and `BPNET_FUZZ_SEED=s` change the number of mutants (100,000) and the
//! seed; a failing mutant is printed so that it can be added to [`fixed`].

use super::corpus;
use crate::expand_network;
use proc_macro2::{Delimiter, LineColumn, Spacing, TokenStream, TokenTree};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Mutants checked per run, unless `BPNET_FUZZ_MUTANTS` says otherwise.
const MUTANTS: usize = 100_000;

/// Declarations with the kinds and options the workspace's tests declare rarely or not at all.
const EXTRA_SEEDS: &[&str] = &[
    "pub struct Kinds {
        input  x: 4;
        input  z: 4;
        target y: 2;
        r      = relu(x);
        k      = leaky_relu(z, slope = 0.1);
        s      = softplus(r);
        t      = tanh(k, bias = false);
        m      = mul(s, t);
        d      = sub(m, r);
        n      = scale(d, by = -1);
        c      = concat(n, x);
        p      = slice(c, from = 1, to = 3);
        o      = l: linear(p -> 2, bias = true);
        energy = euclidean(o, y);
    }",
    "#[bpnet(float = f64)]
    pub struct Rec {
        unfold 8 {
            input  x: 2;
            target y: 1;
            s      = wx: linear(x -> 3, bias = true);
            c      = wh: linear(h[t - 2] -> 3);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        initial h = [0.5, -1.0, 2.5];
        energy = sum(e[1..8]);
    }",
    "pub struct Cls {
        input  x: 3;
        target y: 4;
        o      = l: linear(x -> 4);
        energy = nll(o, y, beta = 2.0);
    }",
    "pub struct Maps {
        input  x: [2, 8, 8];
        target y: [3, 2, 2];
        c: [4, 4, 4] = k: conv(x, maps = 4, kh = 3, kw = 4, stride = 2, padding = 1);
        h      = t: tanh(c, bias = false);
        s      = p: subsample(h, size = 2);
        d      = k2: conv(s, maps = 3, kernel = 1);
        energy = euclidean(d, y);
    }",
    "pub struct Pool {
        input  x: [1, 4, 6];
        target y: 2;
        m      = maxpool(x, size = 2);
        o      = l: linear(m -> 2);
        energy = euclidean(o, y);
    }",
];

/// A recurrent network that expands, with `{}` in place of its initial value, delay or `T`.
const REC: &str = "pub struct N { unfold {T} { input x: 1; target y: 1; s = wx: linear(x -> 2); \
                   c = wh: linear(h[t - {K}] -> 2); a = add(s, c); h = th: tanh(a); \
                   o = wo: linear(h -> 1); e = euclidean(o, y); } initial h = [{V}, 0.0]; \
                   energy = sum(e{R}); }";

/// A feed-forward network that expands, with `{}` in place of a width.
const FF: &str = "pub struct N { input x: {W}; target y: 1; h = l: linear(x -> {O}); \
                  o = m: linear(h -> 1); energy = euclidean(o, y); }";

/// Inputs that once broke a rule (each with a part of the one error it must give), kept as
/// regression cases; each must pass the same checks as a mutant.
fn fixed() -> Vec<(String, &'static str)> {
    let rec = |t: &str, k: &str, v: &str, r: &str| {
        REC.replace("{T}", t)
            .replace("{K}", k)
            .replace("{V}", v)
            .replace("{R}", r)
    };
    let ff = |w: &str, o: &str| FF.replace("{W}", w).replace("{O}", o);
    vec![
        // They expand as they are.
        (rec("4", "1", "0.5", ""), ""),
        (ff("4", "3"), ""),
        // `Literal::f64_unsuffixed` asserts a finite value: 1e400 made the macro panic.
        (rec("4", "1", "1e400", ""), "the initial value `1e400` of `h` is infinite as f32"),
        (rec("4", "1", "-1e39", ""), "the initial value `-1e39` of `h` is infinite as f32"),
        // Widths, `T`, delays and ranges too large to allocate were accepted (or, past `u64`,
        // reported without the limit).
        (ff("1099511627776", "3"), "width 1099511627776 is too large"),
        (ff("4", "18446744073709551616"), "width 18446744073709551616 is too large"),
        (rec("1048577", "1", "0.5", ""), "`unfold 1048577`: too many steps"),
        (rec("4", "1099511627776", "0.5", ""), "a delay 1099511627776 is too large"),
        (rec("4", "1", "0.5", "[1099511627776..]"), "the first step of a range 1099511627776"),
        // The pool past 2^31 parameters, computed with checked arithmetic.
        (ff("1048576", "4096"), "has 4294967296 parameters"),
        (
            "pub struct N { input x: 1048576; target y: 1; c = concat(x, x); \
             o = l: linear(c -> 1); energy = euclidean(o, y); }"
                .into(),
            "state `c` would have width 2097152",
        ),
        (
            "pub struct N { input x: 4; target y: 1; s = slice(x, from = 0, to = 1e400); \
             o = l: linear(s -> 1); energy = euclidean(o, y); }"
                .into(),
            "slice module `s` takes components `from..to`",
        ),
        // A repeated input: the fallback gave `fprop(x, x)` (rustc's E0415).
        (
            "pub struct N { input x: 2; input x: 2; target y: 1; h = l: linear(x -> 1); \
             energy = euclidean(h, y); }"
                .into(),
            "state `x` is defined twice",
        ),
        // An error at the end of a statement or of the declaration pointed at the call site.
        ("pub struct N { input x: 2; target y: 1; h = l: linear(x -> 1); energy = euclidean(h, y) }"
            .into(), ""),
        ("pub struct N { input x: 2; target y: 1; h = l: linear(x -> 1); energy = }".into(),
            "unexpected end of input"),
        ("pub struct".into(), "unexpected end of input"),
        // `unfold` without `T`: the error was spanned on no tokens (the call site).
        (REC.replace("{T}", "").replace("{K}", "1").replace("{V}", "0.5").replace("{R}", ""),
            "the number of steps is an integer literal"),
    ]
}

/// A small xorshift generator: the same mutants on every run with the same seed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A token as text, so that seeds are kept without spans (every mutant's spans are its own).
#[derive(Clone)]
struct Leaf {
    text: String,
    ident: bool,
    number: bool,
    /// A punctuation joined to the next one (`-` of `->`): printed without a space.
    joint: bool,
}

/// A token tree that can be edited in place.
#[derive(Clone)]
enum Tree {
    Leaf(Leaf),
    Group(Delimiter, Vec<Tree>),
}

fn trees(tokens: TokenStream) -> Vec<Tree> {
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => Tree::Group(g.delimiter(), trees(g.stream())),
            other => {
                let text = other.to_string();
                Tree::Leaf(Leaf {
                    ident: matches!(other, TokenTree::Ident(_)),
                    number: matches!(other, TokenTree::Literal(_))
                        && text.starts_with(|c: char| c.is_ascii_digit()),
                    joint: matches!(&other, TokenTree::Punct(p) if p.spacing() == Spacing::Joint),
                    text,
                })
            }
        })
        .collect()
}

/// The text of `trees`, which parses back to them.
fn print(trees: &[Tree], out: &mut String) {
    for t in trees {
        match t {
            Tree::Leaf(l) => {
                out.push_str(&l.text);
                if !l.joint {
                    out.push(' ');
                }
            }
            Tree::Group(d, inner) => {
                let (open, close) = match d {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{ ", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                print(inner, out);
                out.push_str(close);
                out.push(' ');
            }
        }
    }
}

/// The path (indices from the root) of every tree, groups included.
fn paths(trees: &[Tree], prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    for (i, t) in trees.iter().enumerate() {
        prefix.push(i);
        out.push(prefix.clone());
        if let Tree::Group(_, inner) = t {
            paths(inner, prefix, out);
        }
        prefix.pop();
    }
}

/// The list holding the tree at `path`, and its index there.
fn parent<'a>(trees: &'a mut Vec<Tree>, path: &[usize]) -> (&'a mut Vec<Tree>, usize) {
    let (&last, init) = path.split_last().expect("a path is not empty");
    let mut list = trees;
    for &i in init {
        match &mut list[i] {
            Tree::Group(_, inner) => list = inner,
            Tree::Leaf(_) => unreachable!("a path goes through groups"),
        }
    }
    (list, last)
}

const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "2.5",
    "1e400",
    "18446744073709551616",
    "1099511627776",
    "1048577",
    "2147483648",
];

const KEYWORDS: &[&str] = &[
    "fn", "struct", "self", "_", "unfold", "input", "target", "energy", "output", "initial",
    "learned", "zeros", "t", "true",
];

/// The trees of `text` (a fixed replacement).
fn parsed(text: &str) -> Vec<Tree> {
    trees(text.parse().expect("a replacement parses"))
}

/// One mutation at a random place of `seed`; `idents` are the identifiers of the declaration.
fn mutate(rng: &mut XorShift, seed: &mut Vec<Tree>, idents: &[String]) {
    let mut all = Vec::new();
    paths(seed, &mut Vec::new(), &mut all);
    if all.is_empty() {
        return;
    }
    let path = &all[rng.below(all.len())];
    let (list, i) = parent(seed, path);
    let replace = rng.below(2) == 0;
    match &list[i] {
        Tree::Leaf(l) if replace && l.number => {
            let new = parsed(NUMBERS[rng.below(NUMBERS.len())]);
            list.splice(i..=i, new);
            return;
        }
        Tree::Leaf(l) if replace && l.ident => {
            let new = if rng.below(2) == 0 || idents.is_empty() {
                KEYWORDS[rng.below(KEYWORDS.len())].to_string()
            } else {
                idents[rng.below(idents.len())].clone()
            };
            list.splice(i..=i, parsed(&new));
            return;
        }
        _ => {}
    }
    match rng.below(3) {
        0 => {
            list.remove(i);
        }
        1 => {
            let copy = list[i].clone();
            list.insert(i + 1, copy);
        }
        _ => {
            let j = if i + 1 < list.len() {
                i + 1
            } else {
                i.saturating_sub(1)
            };
            list.swap(i, j);
        }
    }
}

fn idents(trees: &[Tree], out: &mut Vec<String>) {
    for t in trees {
        match t {
            Tree::Leaf(l) if l.ident => {
                if !out.contains(&l.text) {
                    out.push(l.text.clone());
                }
            }
            Tree::Group(_, inner) => idents(inner, out),
            Tree::Leaf(_) => {}
        }
    }
}

/// The first and last positions of `tokens`, at any depth.
fn bounds(tokens: TokenStream, b: &mut Option<(LineColumn, LineColumn)>) {
    for tt in tokens {
        let (s, e) = (tt.span().start(), tt.span().end());
        *b = Some(match *b {
            None => (s, e),
            Some((lo, hi)) => (pos_min(lo, s), pos_max(hi, e)),
        });
        if let TokenTree::Group(g) = tt {
            bounds(g.stream(), b);
        }
    }
}

fn key(p: LineColumn) -> (usize, usize) {
    (p.line, p.column)
}
fn pos_min(a: LineColumn, b: LineColumn) -> LineColumn {
    if key(a) <= key(b) { a } else { b }
}
fn pos_max(a: LineColumn, b: LineColumn) -> LineColumn {
    if key(a) >= key(b) { a } else { b }
}

/// Every `compile_error! { … }` of `out`: the spans of its tokens must lie within `lo..=hi`.
fn errors_inside(
    out: TokenStream,
    lo: LineColumn,
    hi: LineColumn,
    found: &mut usize,
) -> Result<(), String> {
    let trees: Vec<TokenTree> = out.into_iter().collect();
    for (i, tt) in trees.iter().enumerate() {
        match tt {
            TokenTree::Ident(id) if id == "compile_error" => {
                *found += 1;
                let group = match trees.get(i + 2) {
                    Some(TokenTree::Group(g)) => g,
                    _ => return Err("`compile_error` without its `!{ … }`".into()),
                };
                let mut spans = vec![
                    id.span(),
                    trees[i + 1].span(),
                    group.span_open(),
                    group.span_close(),
                ];
                spans.extend(group.stream().into_iter().map(|t| t.span()));
                for s in spans {
                    let (a, b) = (s.start(), s.end());
                    if key(a) < key(lo) || key(b) > key(hi) {
                        return Err(format!(
                            "an error at {}:{}..{}:{}, outside the input {}:{}..{}:{}: {}",
                            a.line,
                            a.column,
                            b.line,
                            b.column,
                            lo.line,
                            lo.column,
                            hi.line,
                            hi.column,
                            group.stream()
                        ));
                    }
                }
            }
            TokenTree::Group(g) => errors_inside(g.stream(), lo, hi, found)?,
            _ => {}
        }
    }
    Ok(())
}

/// What one input gives.
enum Outcome {
    Expanded,
    Errors,
    /// The printed mutant is not a token stream (a lone `'` after a deletion).
    Unparsable,
}

/// Expands `text`, checked. The text starts after two blank lines, so that an error at the call
/// site (line 1, or 0, of no file) is outside it.
fn run(text: &str) -> Result<Outcome, String> {
    let text = format!("\n\n{text}");
    let Ok(input) = text.parse::<TokenStream>() else {
        return Ok(Outcome::Unparsable);
    };
    let mut b = None;
    bounds(input.clone(), &mut b);
    // The inference form (bpnet without std) goes through the same checks and its own
    // generators: it must not panic either.
    let inference = input.clone();
    catch_unwind(AssertUnwindSafe(|| {
        crate::expand_for(inference, crate::expand::Build::Inference)
    }))
    .map_err(|_| "the macro panicked in the inference form".to_string())?;
    let out = catch_unwind(AssertUnwindSafe(|| expand_network(input)));
    let out = out.map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("the macro panicked: {msg}")
    })?;
    let Some((lo, hi)) = b else {
        // An empty input: its one error can only be at the call site.
        return Ok(Outcome::Errors);
    };
    let mut found = 0;
    errors_inside(out, lo, hi, &mut found)?;
    Ok(if found == 0 {
        Outcome::Expanded
    } else {
        Outcome::Errors
    })
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The extra seeds are valid declarations: their mutants start from code that expands.
#[test]
fn extra_seeds_expand() {
    for text in EXTRA_SEEDS {
        assert!(
            matches!(run(text), Ok(Outcome::Expanded)),
            "{}\nfor:\n{text}",
            expand_network(text.parse().expect("it parses"))
        );
        proc_macro2::extra::invalidate_current_thread_spans();
    }
}

#[test]
fn fixed_inputs() {
    for (text, want) in fixed() {
        let out = match run(&text) {
            Err(e) => panic!("{e}\nthe input:\n{text}"),
            Ok(Outcome::Unparsable) => panic!("does not parse:\n{text}"),
            Ok(o) => o,
        };
        let got = expand_network(text.parse().expect("it parses")).to_string();
        match (want, out) {
            ("", Outcome::Expanded) => {}
            ("", _) => panic!("expected an expansion, got:\n{got}\nfor:\n{text}"),
            (_, Outcome::Expanded) => panic!("expected `{want}`, but it expands:\n{text}"),
            (_, _) => assert!(
                got.contains(want) && got.matches("compile_error").count() == 1,
                "expected one error, `{want}`, got:\n{got}\nfor:\n{text}"
            ),
        }
        proc_macro2::extra::invalidate_current_thread_spans();
    }
}

#[test]
fn fuzz() {
    let start = std::time::Instant::now();
    let mut texts: Vec<String> = corpus::declarations()
        .into_iter()
        .map(|(_, t)| t.to_string())
        .collect();
    texts.extend(EXTRA_SEEDS.iter().map(|s| s.to_string()));
    // The seeds themselves: each expands or reports errors inside its text.
    for s in &texts {
        if let Err(e) = run(s) {
            panic!("{e}\nthe seed:\n{s}");
        }
    }
    let seeds: Vec<(Vec<Tree>, Vec<String>)> = texts
        .iter()
        .map(|s| {
            let tree = trees(s.parse().expect("a seed parses"));
            let mut names = Vec::new();
            idents(&tree, &mut names);
            (tree, names)
        })
        .collect();
    proc_macro2::extra::invalidate_current_thread_spans();
    let n = env_number("BPNET_FUZZ_MUTANTS", MUTANTS as u64) as usize;
    let seed = env_number("BPNET_FUZZ_SEED", 0x9E37_79B9_7F4A_7C15);
    // The mutants are split between threads (each with its own generator and source map).
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|k| {
                let seeds = &seeds;
                let share = n / threads + usize::from(k < n % threads);
                let rng = XorShift((seed ^ (k as u64).wrapping_mul(0xA076_1D64_78BD_642F)).max(1));
                scope.spawn(move || mutants(seeds, share, rng))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker ends"))
            .collect()
    });
    let total = |f: fn(&Tally) -> usize| tallies.iter().map(f).sum::<usize>();
    let (expanded, errors, unparsable, tried) = (
        total(|t| t.expanded),
        total(|t| t.errors),
        total(|t| t.unparsable),
        total(|t| t.tried),
    );
    let failures: Vec<String> = tallies.into_iter().flat_map(|t| t.failures).collect();
    println!(
        "fuzz: {} mutants of {} seeds on {threads} threads ({expanded} expand, {errors} report \
         errors; {unparsable} more did not print as tokens, of {tried} made) in {:.1?}",
        expanded + errors,
        seeds.len(),
        start.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        expanded > n / 200 && errors > n / 200,
        "mutants of both outcomes"
    );
}

/// What one worker found.
#[derive(Default)]
struct Tally {
    expanded: usize,
    errors: usize,
    unparsable: usize,
    tried: usize,
    failures: Vec<String>,
}

/// `n` mutants of `seeds`, checked.
fn mutants(seeds: &[(Vec<Tree>, Vec<String>)], n: usize, mut rng: XorShift) -> Tally {
    let mut t = Tally::default();
    while t.expanded + t.errors < n {
        t.tried += 1;
        let (seed, names) = &seeds[rng.below(seeds.len())];
        let mut tree = seed.clone();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut tree, names);
        }
        let mut text = String::new();
        print(&tree, &mut text);
        match run(&text) {
            Ok(Outcome::Expanded) => t.expanded += 1,
            Ok(Outcome::Errors) => t.errors += 1,
            Ok(Outcome::Unparsable) => t.unparsable += 1,
            Err(e) => {
                t.errors += 1;
                t.failures.push(format!("{e}\nthe mutant:\n{text}"));
                if t.failures.len() >= 10 {
                    break;
                }
            }
        }
        // Every span of this mutant is dropped: the next one starts with an empty source map.
        proc_macro2::extra::invalidate_current_thread_spans();
    }
    t
}
