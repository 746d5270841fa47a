// The parameters of network `Sine`: 48 values of f32, written by bpnet::io::export_rust (bpnet 0.1.0).
// Include this file beside the same `network!` declaration, then run
// `Sine::frozen(&PARAMS)`. Layout (the pool's, module by module):
//   l1           linear(x) -> h: [0, 16), weight [16, 1]
//   t1           tanh(h) -> a: [16, 32), bias [16]
//   l2           linear(a) -> out: [32, 48), weight [1, 16]
//   energy       euclidean(out, y) -> energy: [48, 48)

const _: () = assert!(
    Sine::__BROKEN
        || ::bpnet::__private::layout_is(
            Sine::MODULES,
            &[("l1", 0, 16, 0), ("t1", 16, 16, 0), ("l2", 32, 16, 0), ("energy", 48, 0, 0)],
        ),
    "these parameters were exported from another layout of `Sine`: export them again",
);

/// The parameters of `Sine`, in its pool's layout.
pub static PARAMS: [f32; 48] = [
    0.7687098, 1.4907296, 0.07493537, -1.5665282, -0.74069047, -0.60746956,
    -0.6644377, 0.55494976, 2.3933809, -2.486665, -0.6804884, 2.289695,
    -0.75960267, -0.6043995, 0.5827758, 0.48041576, -0.19758357, 0.11406508,
    0.14344351, -0.12524769, 0.12394637, -0.07734566, -0.31512308, 0.3146855,
    0.691043, 0.8083385, 0.42193177, 0.090882674, 0.19261564, 0.20100075,
    0.09073939, 0.18367991, -0.7102138, 0.18260007, -0.09684686, -0.25200275,
    0.56573725, 1.2142966, 1.255844, -0.72074586, 1.3825053, -1.6002446,
    1.1731966, 1.4569463, 0.7221396, 0.7561988, -0.90242, -0.59006274,
];
