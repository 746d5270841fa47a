//! The generated documentation that depends on the network: `set_input_grads`'s, and the
//! Graphviz picture.

use crate::emit::plain;
use crate::lower::Schedule;
use crate::model::{Model, StateRole};

/// The rustdoc of `set_input_grads`, saying what applies to this network.
pub fn input_grads_doc(model: &Model, sched: &Schedule) -> String {
    let (sweeps, product) = (
        "`bprop` and `bprop_batch`",
        "`Wᵀ dy`; on a minibatch, the matrix product `dY W`",
    );
    let mut doc = format!(
        "Turns on or off the derivatives of the energy with respect to the inputs and targets: \
         the `dx` of the `input` and `target` states, in {sweeps}.\n\n\
         **Off by default** (as for data without `requires_grad` in PyTorch), because training \
         needs the parameters' gradients only, and a linear module reading an input would spend \
         as many multiply-adds on its dE/d(input) ({product}) as on its forward product: a \
         large share of a training step, for nothing.\n\n\
         Off, those `dx` are not computed and their contents are unspecified (left as last \
         written; zero if never computed), except that a user module or a nested network \
         reading an input still adds into that input's `dx`, because `Module::bprop` always \
         produces dE/d(input). The parameters' gradients and the other states' `dx` are the \
         same either way, bit for bit. On, every state's `dx` is computed."
    );
    let learned = model
        .states
        .iter()
        .enumerate()
        .any(|(i, st)| st.role != StateRole::Computed && sched.initial_offsets[i].is_some());
    if learned {
        doc += "\n\nAn input with a learned initial value (`initial x = learned`) has its `dx` \
                computed either way: that value's gradient gathers it.";
    }
    if model.module_input().is_some() {
        doc += "\n\nUsed as a module inside another network, this network always computes its \
                input's `dx` (the outer network needs dE/d(input)), whatever this switch says.";
    }
    doc
}

/// The Graphviz description: states as boxes, modules as ellipses.
pub fn dot(model: &Model) -> String {
    let mut out = format!("digraph \"{}\" {{\n  rankdir=LR;\n", plain(&model.name));
    for st in &model.states {
        let style = match st.role {
            StateRole::Input => ", style=filled, fillcolor=lightblue",
            StateRole::Target => ", style=filled, fillcolor=lightyellow",
            StateRole::Computed => "",
        };
        out += &format!(
            "  \"s_{n}\" [shape=box, label=\"{n} [{w}]\"{style}];\n",
            n = plain(&st.name),
            w = st.width
        );
    }
    for m in &model.modules {
        let detail = match m.kind.op() {
            Some(op) => {
                let (ins, out) = model.widths(m);
                op.detail(&ins, out)
            }
            None => m.kind.label(),
        };
        let n = plain(&m.name);
        out += &format!("  \"m_{n}\" [shape=ellipse, label=\"{n}\\n{detail}\"];\n");
        for (&a, &d) in m.args.iter().zip(&m.delays) {
            let delay = if d > 0 {
                format!(" [style=dashed, label=\"t-{d}\"]")
            } else {
                String::new()
            };
            out += &format!(
                "  \"s_{}\" -> \"m_{n}\"{delay};\n",
                plain(&model.states[a].name)
            );
        }
        out += &format!(
            "  \"m_{n}\" -> \"s_{}\";\n",
            plain(&model.states[m.out].name)
        );
    }
    out + "}\n"
}
