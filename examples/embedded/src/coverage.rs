// More kinds through the inference form without std, for `tests/embedded.rs` to compare with the
// std build: parameters from a fixed formula (`coverage_params`) rather than training. (Softplus
// and the `f64` activations are left out: they call `exp` or `tanh`, which are the system's with
// std and libm's without, unless the std build has bpnet's `libm` feature.)

network! {
    /// Feature maps, the pointwise kinds, and the element-wise ones.
    pub struct Maps {
        input  x: [1, 8, 8];
        c1     = k1: conv(x, maps = 2, kernel = 3, padding = 1);
        h1     = t1: scaled_tanh(c1);
        s1     = sub1: subsample(h1, size = 2);
        c2     = k2: conv(s1, maps = 3, kernel = 2, stride = 2);
        m      = maxpool(c2, size = 2);
        g      = sig: sigmoid(m);
        r      = leaky_relu(g, slope = 0.1);
        d      = dropout(r, p = 0.5);
        l      = lin: linear(d -> 6, bias = true);
        a      = slice(l, from = 0, to = 3);
        b      = slice(l, from = 3, to = 6);
        p      = mul(a, b);
        q      = sub(a, b);
        u      = relu(q);
        v      = scale(p, by = 2.0);
        cat    = concat(u, v);
        output o = t2: tanh(cat, bias = false);
    }
}

network! {
    /// An unfolded network whose output gathers the steps (`sum`, and `last`), with an input
    /// read one step back, a learned initial state read two steps back, and a sigmoid.
    pub struct Pooled {
        unfold 8 {
            input  x: 2;
            a      = wx: linear(x -> 4);
            b      = w1: linear(x[t - 1] -> 4);
            c      = wh: linear(h[t - 2] -> 4);
            s      = add(a, b, c);
            h      = th: sigmoid(s);
        }
        initial x = [0.25, -0.5];
        initial h = learned;
        m      = sum(h);
        z      = last(h);
        mz     = add(m, z);
        output o = wo: linear(mz -> 2);
    }
}

/// `N` parameters in `[-0.5, 0.5)`, from a linear congruential generator: the same in a
/// constant, without std, as with it.
pub const fn coverage_params<const N: usize>(seed: u64) -> [f32; N] {
    let mut out = [0.0f32; N];
    let mut s = seed;
    let mut i = 0;
    while i < N {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        out[i] = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        i += 1;
    }
    out
}
