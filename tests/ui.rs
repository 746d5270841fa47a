//! Compile-time diagnostics of `network!`, as trybuild snapshots.
//!
//! Every file in `ui/fail` breaks exactly one rule (named by the file), except the two that check
//! that several errors are reported together, and then uses the network as a program would: the
//! only errors in its `.stderr` must be the macro's own, at the offending tokens. The exceptions
//! are rustc's errors on a wrong call of a generated method (`method_*_note`,
//! `fprop_batch_pairs`, `user_module_unknown_type`): they pin where rustc's notes point (the
//! network's name and the parameter's declaration, not the whole macro call); and
//! `exported_params_stale_layout`, where the mistake is in a parameter file `bpnet::io::export_rust`
//! wrote (its own check, then rustc's error on the array's length). Every file in
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
