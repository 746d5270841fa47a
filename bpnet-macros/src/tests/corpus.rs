//! The declarations written in the workspace's tests, examples and README: every `network! { … }`
//! found in their tokens, for tests that run the macro over real inputs (the fuzz test's seeds,
//! the expansion dump).

use proc_macro2::{TokenStream, TokenTree};
use std::path::{Path, PathBuf};

/// The `.rs` files under `dir`, sorted, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs" || e == "md") {
            out.push(p);
        }
    }
}

/// The bodies of the `network! { … }` invocations in `tokens`, at any depth.
fn invocations(tokens: TokenStream, out: &mut Vec<TokenStream>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tt) in trees.iter().enumerate() {
        if let TokenTree::Group(g) = tt {
            let is_call = i >= 2
                && matches!(&trees[i - 2], TokenTree::Ident(id) if id == "network")
                && matches!(&trees[i - 1], TokenTree::Punct(p) if p.as_char() == '!');
            if is_call {
                out.push(g.stream());
            } else {
                invocations(g.stream(), out);
            }
        }
    }
}

/// Rust code blocks of a Markdown file, without the `# ` hidden-line markers.
fn markdown_code(text: &str) -> String {
    let mut code = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside && line.contains("rust");
            continue;
        }
        if inside {
            code += line.strip_prefix("# ").unwrap_or(line);
            code.push('\n');
        }
    }
    code
}

/// Every declaration, with the file it came from.
pub fn declarations() -> Vec<(String, TokenStream)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["tests", "examples", "README.md"] {
        let p = root.join(dir);
        if p.is_file() {
            files.push(p);
        } else {
            rust_files(&p, &mut files);
        }
    }
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let text = if f.extension().is_some_and(|e| e == "md") {
            markdown_code(&text)
        } else {
            text
        };
        let Ok(tokens) = text.parse::<TokenStream>() else {
            continue;
        };
        let mut found = Vec::new();
        invocations(tokens, &mut found);
        let name = f.strip_prefix(&root).unwrap_or(&f).display().to_string();
        out.extend(found.into_iter().map(|t| (name.clone(), t)));
    }
    out
}

/// There is a corpus: the tests' declarations are found.
#[test]
fn finds_the_declarations() {
    let all = declarations();
    assert!(all.len() > 100, "only {} declarations found", all.len());
    assert!(all.iter().any(|(f, _)| f.contains("ui/fail")));
}

/// `BPNET_DUMP=path cargo test -p bpnet-macros dump_expansions`: every declaration's expansion,
/// one per line, to compare two versions of the macro token for token.
#[test]
fn dump_expansions() {
    let Ok(path) = std::env::var("BPNET_DUMP") else {
        return;
    };
    let mut text = String::new();
    for (file, tokens) in declarations() {
        text += &format!("== {file}\n{}\n", super::super::expand_network(tokens));
    }
    std::fs::write(path, text).expect("the dump is written");
}
