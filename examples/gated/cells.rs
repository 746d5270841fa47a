//! An LSTM, a GRU and an Elman net, declared with `network!` from the built-in kinds alone (no
//! user module), unfolded over up to 50 steps, each reading a sequence of (value, marker) pairs and
//! predicting one number from its last hidden state: the adding problem's shape. The three have
//! about the same number of parameters (361, 343 and 358).
//!
//! Shared by `examples/gated` (which trains them) and `tests/gated.rs` (which checks their
//! gradients through time against finite differences).

use bpnet::prelude::*;

network! {
    /// An LSTM cell of 8 units (Hochreiter & Schmidhuber 1997, with a forget gate): the four
    /// gates' pre-activations from one affine map of the input and one linear map of `h[t − 1]`,
    /// sliced; the cell state `c` carried by a product with the forget gate.
    #[bpnet(float = f64)]
    pub struct Lstm {
        unfold 50 {
            input  x: 2;
            zx     = wx: linear(x -> 32, bias = true);
            zh     = wh: linear(h[t - 1] -> 32);
            a      = add(zx, zh);
            ai     = slice(a, from = 0, to = 8);
            af     = slice(a, from = 8, to = 16);
            ag     = slice(a, from = 16, to = 24);
            ao     = slice(a, from = 24, to = 32);
            i      = sigmoid(ai, bias = false);
            f      = sigmoid(af, bias = false);
            g      = tanh(ag, bias = false);
            o      = sigmoid(ao, bias = false);
            fc     = mul(f, c[t - 1]);
            ig     = mul(i, g);
            c      = add(fc, ig);
            tc     = tanh(c, bias = false);
            h      = mul(o, tc);
        }
        hl     = last(h);
        out    = wo: linear(hl -> 1, bias = true);
        target y: 1;
        energy = euclidean(out, y);
    }
}

network! {
    /// A GRU cell of 9 units (Cho et al. 2014): update and reset gates from the input and
    /// `h[t − 1]`; the candidate `n` reads `h[t − 1]` through the reset gate; `h = n + z ∘ (h[t − 1]
    /// − n)`, that is `(1 − z) ∘ n + z ∘ h[t − 1]`.
    #[bpnet(float = f64)]
    pub struct Gru {
        unfold 50 {
            input  x: 2;
            zx     = wx: linear(x -> 27, bias = true);
            zh     = wh: linear(h[t - 1] -> 18);
            xz     = slice(zx, from = 0, to = 9);
            xr     = slice(zx, from = 9, to = 18);
            xn     = slice(zx, from = 18, to = 27);
            hz     = slice(zh, from = 0, to = 9);
            hr     = slice(zh, from = 9, to = 18);
            az     = add(xz, hz);
            ar     = add(xr, hr);
            z      = sigmoid(az, bias = false);
            r      = sigmoid(ar, bias = false);
            hn     = wn: linear(h[t - 1] -> 9, bias = true);
            rn     = mul(r, hn);
            an     = add(xn, rn);
            n      = tanh(an, bias = false);
            dh     = sub(h[t - 1], n);
            zd     = mul(z, dh);
            h      = add(n, zd);
        }
        hl     = last(h);
        out    = wo: linear(hl -> 1, bias = true);
        target y: 1;
        energy = euclidean(out, y);
    }
}

network! {
    /// The lecture's loop unfolded in time: an Elman net of 17 tanh units.
    #[bpnet(float = f64)]
    pub struct Elman {
        unfold 50 {
            input  x: 2;
            s      = wx: linear(x -> 17);
            r      = wh: linear(h[t - 1] -> 17);
            a      = add(s, r);
            h      = th: tanh(a);
        }
        hl     = last(h);
        out    = wo: linear(hl -> 1, bias = true);
        target y: 1;
        energy = euclidean(out, y);
    }
}
