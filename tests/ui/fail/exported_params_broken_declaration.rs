// A declaration with a mistake, beside the parameters `bpnet::io::export_rust` wrote for it
// before: the mistake is the only error (the file's layout check is skipped for a stand-in).
use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 1;
        h      = l1: linear(x -> 3);
        a      = t1: tanh(h);
        out    = l2: linear(a -> 2);
        energy = euclidean(out, y);
    }
}

// The parameters of network `Net`: 12 values of f32, written by bpnet::io::export_rust (bpnet 0.1.0).
// Include this file beside the same `network!` declaration, then run
// `Net::frozen(&PARAMS)`. Layout (the pool's, module by module):
//   l1           linear(x) -> h: [0, 6), weight [3, 2]
//   t1           tanh(h) -> a: [6, 9), bias [3]
//   l2           linear(a) -> out: [9, 12), weight [1, 3]
//   energy       euclidean(out, y) -> energy: [12, 12)

const _: () = assert!(
    Net::__BROKEN
        || ::bpnet::__private::layout_is(
            Net::MODULES,
            &[("l1", 0, 6, 0), ("t1", 6, 3, 0), ("l2", 9, 3, 0), ("energy", 12, 0, 0)],
        ),
    "these parameters were exported from another layout of `Net`: export them again",
);

/// The parameters of `Net`, in its pool's layout.
pub static PARAMS: [f32; 12] = [
    0.5, -0.25, 0.125, 1.0, -1.0, 0.75,
    0.0, 0.1, -0.1, 0.3, 0.2, -0.6,
];

fn main() {
    let mut net = Net::frozen(&PARAMS);
    let _ = net.run(&[0.5, -0.5]);
}
