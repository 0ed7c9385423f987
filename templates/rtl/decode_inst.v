[#- The N_decode instance of a PE, a dot lane or a systolic row, with the
    wires it drives: the caller sets `ind` (the indentation) and
    `dec_conns` (plan.decode_conns: act_i and, for decodes that take
    weights, wgt_i, then the outputs). The wires it drives are `<name>_dec`: decoded, combinational
    (`_d` is kept for the next state of a `_q` register). #]
[%- match plan.act_code %]
[%- when Some(code) %]
[%- for f in code.fields %]
[[ ind ]]wire [[ f.range() ]][[ f.name ]]_dec;
[%- endfor %]
[[ ind ]][[ decode_module ]] u_decode (
[%- let conns = dec_conns %]
[%- include "rtl/conns.v" %]
[[ ind ]]);
[%- when None %]
[%- for o in plan.operands %]
[[ ind ]]wire [ [[- o.bits - 1 ]]:0] [[ o.name ]]_dec;
[%- endfor %]
[[ ind ]][[ decode_module ]] u_decode (
[%- let conns = dec_conns %]
[%- include "rtl/conns.v" %]
[[ ind ]]);
[%- endmatch %]
