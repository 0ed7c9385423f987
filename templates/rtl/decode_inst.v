[#- The N_decode instance of a PE, a dot lane or a systolic row, with the
    wires it drives: the caller sets `ind` (the indentation), `dec_act` and
    `dec_wgt` (the expressions on act_i and, for decodes that take weights,
    wgt_i) and `sfx` (the suffix of the wires: `<name><sfx>`). #]
[%- match plan.act_code %]
[%- when Some(code) %]
[%- for f in code.fields %]
[[ ind ]]wire [[ f.range() ]][[ f.name ]][[ sfx ]];
[%- endfor %]
[[ ind ]][[ decode_module ]] u_decode (
[[ ind ]]  .act_i   ([[ dec_act ]]),
[%- for f in code.fields %]
[[ ind ]]  .[[ f.name ]]_o ([[ f.name ]][[ sfx ]])[% if !loop.last %],[% endif %]
[%- endfor %]
[[ ind ]]);
[%- when None %]
[%- for o in plan.operands %]
[[ ind ]]wire [ [[- o.bits - 1 ]]:0] [[ o.name ]][[ sfx ]];
[%- endfor %]
[[ ind ]][[ decode_module ]] u_decode (
[[ ind ]]  .act_i ([[ dec_act ]]),
[[ ind ]]  .wgt_i ([[ dec_wgt ]]),
[%- for o in plan.operands %]
[[ ind ]]  .[[ o.name ]]_o  ([[ o.name ]][[ sfx ]])[% if !loop.last %],[% endif %]
[%- endfor %]
[[ ind ]]);
[%- endmatch %]
