//! A backward pass goes back through the states of its own forward pass: `bprop` after
//! `fprop_batch`, `bprop_batch` after `fprop`, any backward pass after `run` or before any
//! forward pass panics with what to call instead, where it used to return gradients of zero.

mod common;

use bpnet::prelude::*;

common::small_nets!();

network! {
    /// No energy: bprop starts from a given dE/d(output), after `run`.
    #[bpnet(float = f64)]
    pub struct Layer {
        input  x: 2;
        s      = l: linear(x -> 3);
        output h = t: tanh(s);
    }
}

fn net() -> Net {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.reserve_batch(2).unwrap();
    net
}

const XS: [[f64; 2]; 2] = [[0.5, -0.2], [0.1, 0.9]];
const YS: [[f64; 1]; 2] = [[0.3], [-0.4]];

/// The orders that belong together work, whatever came before, and give the gradients of their
/// own forward pass: a sample's after a minibatch, the batch's after a sample.
#[test]
fn each_backward_pass_after_its_forward_pass() {
    let mut alone = net();
    alone.fprop(&XS[0], &YS[0]);
    alone.bprop();
    let mut mixed = net();
    mixed.fprop_batch(&XS, &YS).unwrap();
    mixed.bprop_batch();
    mixed.run(&XS[1]);
    mixed.zero_grad();
    mixed.fprop(&XS[0], &YS[0]);
    mixed.bprop();
    mixed.bprop(); // twice: the same forward pass, gradients added twice
    assert_eq!(mixed.grads().len(), alone.grads().len());
    for (m, a) in mixed.grads().iter().zip(alone.grads()) {
        assert_eq!(*m, 2.0 * a);
    }
    mixed.zero_grad();
    mixed.fprop_batch(&XS[..1], &YS[..1]).unwrap();
    mixed.bprop_batch();
    assert_eq!(mixed.grads(), alone.grads());
    mixed.fprop(&XS[0], &YS[0]);
    mixed.bbprop();
    mixed.fprop_batch(&XS, &YS).unwrap();
    mixed.bbprop_batch();
}

#[test]
#[should_panic(
    expected = "`Net::bprop` goes back through the states of `fprop`, but the last \
                           forward pass was `fprop_batch`: call `bprop_batch`"
)]
fn bprop_after_fprop_batch_panics() {
    let mut net = net();
    net.fprop_batch(&XS, &YS).unwrap();
    net.bprop();
}

#[test]
#[should_panic(
    expected = "`Net::bprop_batch` goes back through the states of `fprop_batch`, \
                           but the last forward pass was `fprop`: call `bprop`"
)]
fn bprop_batch_after_fprop_panics() {
    let mut net = net();
    net.fprop(&XS[0], &YS[0]);
    net.bprop_batch();
}

#[test]
#[should_panic(expected = "the last forward pass was `run`: `run` computes the output alone")]
fn bprop_after_run_panics() {
    let mut net = net();
    net.fprop(&XS[0], &YS[0]);
    net.run(&XS[1]);
    net.bprop();
}

#[test]
#[should_panic(expected = "the last forward pass was `run_batch`")]
fn bprop_batch_after_run_batch_panics() {
    let mut net = net();
    net.fprop_batch(&XS, &YS).unwrap();
    net.run_batch(&XS).unwrap();
    net.bprop_batch();
}

#[test]
#[should_panic(
    expected = "`Net::bprop` goes back through the states of `fprop`, but no \
                           forward pass has run yet"
)]
fn bprop_before_any_forward_pass_panics() {
    net().bprop();
}

#[test]
#[should_panic(
    expected = "`Net::bbprop` goes back through the states of `fprop`, but the last \
                           forward pass was `fprop_batch`"
)]
fn bbprop_after_fprop_batch_panics() {
    let mut net = net();
    net.fprop_batch(&XS, &YS).unwrap();
    net.bbprop();
}

#[test]
#[should_panic(expected = "`Net::bbprop_batch` goes back through the states of `fprop_batch`")]
fn bbprop_batch_after_fprop_panics() {
    let mut net = net();
    net.fprop(&XS[0], &YS[0]);
    net.bbprop_batch();
}

fn elman() -> Elman {
    let mut net = Elman::new(&mut StdRng::seed_from_u64(1));
    net.reserve_batch(2).unwrap();
    net
}

#[test]
#[should_panic(
    expected = "`Elman::bprop` goes back through the states of `fprop`, but the last \
                           forward pass was `fprop_batch`"
)]
fn unfolded_bprop_after_fprop_batch_panics() {
    let mut net = elman();
    let xs = vec![vec![[0.1]; 3]; 2];
    let ys = vec![vec![[0.2]; 3]; 2];
    net.fprop_batch(&xs, &ys).unwrap();
    net.bprop();
}

#[test]
#[should_panic(
    expected = "`Elman::bprop_batch` goes back through the states of `fprop_batch`, \
                           but the last forward pass was `fprop`"
)]
fn unfolded_bprop_batch_after_fprop_continued_panics() {
    let mut net = elman();
    net.fprop(&[[0.1]; 3], &[[0.2]; 3]).unwrap();
    net.fprop_continued(&[[0.1]; 1], &[[0.2]; 1]).unwrap();
    net.bprop_batch();
}

#[test]
fn an_output_network_goes_back_from_run() {
    let mut net = Layer::new(&mut StdRng::seed_from_u64(2));
    net.run(&[0.3, 0.4]);
    net.bprop(&[1.0, 0.0, 0.0]);
    assert!(net.grads().iter().any(|&g| g != 0.0));
}

#[test]
#[should_panic(
    expected = "`Layer::bprop` goes back through the states of `run`, but no forward \
                           pass has run yet"
)]
fn an_output_network_needs_run_first() {
    Layer::new(&mut StdRng::seed_from_u64(2)).bprop(&[1.0, 0.0, 0.0]);
}
