//! Compile-time diagnostics of `network!`, as trybuild snapshots.
//!
//! Every file in `ui/fail` breaks exactly one rule (named by the file), except the two that check
//! that several errors are reported together, and then uses the network as a program would: the
//! only errors in its `.stderr` must be the macro's own, at the offending tokens. Every file in
//! `ui/pass` must compile and run.
//!
//! Snapshots depend on the pinned toolchain (`rust-toolchain.toml`). After changing a message,
//! regenerate them with `TRYBUILD=overwrite cargo test --test ui` and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
