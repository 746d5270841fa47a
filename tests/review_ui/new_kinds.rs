use bpnet::prelude::*;
// case relu_option
network! {
    #[bpnet(float = f64)]
    struct C0 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = relu(a, slope = 0.1);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case leaky_wrong_option
network! {
    #[bpnet(float = f64)]
    struct C1 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = leaky_relu(a, alpha = 0.1);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case scale_bool
network! {
    #[bpnet(float = f64)]
    struct C2 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = scale(a, by = true);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case scale_string
network! {
    #[bpnet(float = f64)]
    struct C3 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = scale(a, by = "2");
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case scale_twice
network! {
    #[bpnet(float = f64)]
    struct C4 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = scale(a, by = 0.5, by = 1.0);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case slice_fraction
network! {
    #[bpnet(float = f64)]
    struct C5 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = slice(a, from = 0.5, to = 2);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case slice_float_int
network! {
    #[bpnet(float = f64)]
    struct C6 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = slice(a, from = 1.0, to = 3);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case tanh_arrow
network! {
    #[bpnet(float = f64)]
    struct C7 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = tanh(a -> 4, bias = false);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case relu_arrow
network! {
    #[bpnet(float = f64)]
    struct C8 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = relu(a -> 4);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case concat_one
network! {
    #[bpnet(float = f64)]
    struct C9 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = concat(a);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case slice_to_eq_width
network! {
    #[bpnet(float = f64)]
    struct C10 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = slice(a, from = 4, to = 4);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case slice_past
network! {
    #[bpnet(float = f64)]
    struct C11 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = slice(a, from = 3, to = 5);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case slice_missing_from
network! {
    #[bpnet(float = f64)]
    struct C12 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = slice(a, to = 2);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case mul_widths
network! {
    #[bpnet(float = f64)]
    struct C13 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 b = lb: linear(x -> 3);
 h = mul(a, b);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case sub_target_width
network! {
    #[bpnet(float = f64)]
    struct C14 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = sub(a, y);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case linear_bias_num
network! {
    #[bpnet(float = f64)]
    struct C15 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4, bias = 1);
 h = relu(a);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case leaky_negative
network! {
    #[bpnet(float = f64)]
    struct C16 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = leaky_relu(a, slope = -0.1);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case slice_declared
network! {
    #[bpnet(float = f64)]
    struct C17 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h: 3 = slice(a, from = 0, to = 2);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case concat_declared
network! {
    #[bpnet(float = f64)]
    struct C18 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 c: 5 = concat(a, a);
 h = slice(c, from = 0, to = 4);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case sigmoid_bias_str
network! {
    #[bpnet(float = f64)]
    struct C19 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = sigmoid(a, bias = "no");
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case relu_arity
network! {
    #[bpnet(float = f64)]
    struct C20 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = relu(a, a);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case slice_negative
network! {
    #[bpnet(float = f64)]
    struct C21 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = slice(a, from = -1, to = 2);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case bias_on_relu
network! {
    #[bpnet(float = f64)]
    struct C22 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = relu(a, bias = false);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
// case softplus_by
network! {
    #[bpnet(float = f64)]
    struct C23 {
        input  x: 3;
        target y: 2;
        a = la: linear(x -> 4);
 h = softplus(a, by = 2.0);
        out = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}
fn main() {}
