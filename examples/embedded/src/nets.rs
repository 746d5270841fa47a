// The networks this crate deploys, declared once: the embedded crate (without std) includes this
// file, and so do the example that trains them (`examples/deploy.rs`, with std) and the test that
// compares the two builds (`tests/embedded.rs`). With std, `network!` makes the training
// networks `Sine` and `Sunspots`; without, their inference forms alone (`SineFrozen`,
// `SunspotsFrozen`).

network! {
    /// A two-layer regressor, 1-16-1: `sin(πx)` on `[-1, 1]`.
    pub struct Sine {
        input  x: 1;
        target y: 1;
        h      = l1: linear(x -> 16);
        a      = t1: tanh(h);
        out    = l2: linear(a -> 1);
        energy = euclidean(out, y);
    }
}

network! {
    /// Elman's network, 1-8-1, forecasting next year's sunspot number (scaled) from this
    /// year's, one year per step.
    pub struct Sunspots {
        unfold 16 {
            input  x: 1;
            target y: 1;
            s      = wx: linear(x -> 8);
            c      = wh: linear(h[t - 1] -> 8);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        initial h = zeros;
        energy = sum(e);
    }
}
