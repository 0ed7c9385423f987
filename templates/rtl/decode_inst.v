[#- The N_decode instance of a PE, a dot lane or a systolic row, with the
    wires it drives: the caller sets `ind` (the indentation), `dec_act` and
    `dec_wgt` (the expressions on act_i and, for decodes that take weights,
    wgt_i). The wires it drives are `<name>_dec`: decoded, combinational
    (`_d` is kept for the next state of a `_q` register). #]
[%- match plan.act_code %]
[%- when Some(code) %]
[%- for f in code.fields %]
[[ ind ]]wire [[ f.range() ]][[ f.name ]]_dec;
[%- endfor %]
[[ ind ]][[ decode_module ]] u_decode (
[[ ind ]]  .act_i   ([[ dec_act ]]),
[%- for f in code.fields %]
[[ ind ]]  .[[ f.name ]]_o ([[ f.name ]]_dec)[% if !loop.last %],[% endif %]
[%- endfor %]
[[ ind ]]);
[%- when None %]
[%- for o in plan.operands %]
[[ ind ]]wire [ [[- o.bits - 1 ]]:0] [[ o.name ]]_dec;
[%- endfor %]
[[ ind ]][[ decode_module ]] u_decode (
[[ ind ]]  .act_i ([[ dec_act ]]),
[[ ind ]]  .wgt_i ([[ dec_wgt ]]),
[%- for o in plan.operands %]
[[ ind ]]  .[[ o.name ]]_o  ([[ o.name ]]_dec)[% if !loop.last %],[% endif %]
[%- endfor %]
[[ ind ]]);
[%- endmatch %]
