[#- Stage A of a PE or a dot lane: with pipeline 2 the multipliers'
    operands `<operand>_dec` are registered as `<operand>_q`; the caller
    sets `ind` (the indentation). Without the register the multipliers take
    `<operand>_dec` (plan.operand_a names the signal either way).
    valid/clear travel through stage_a_ctrl.v; without
    plan.datapath_reset the operand registers have no reset (valid_a_q
    says whether they hold anything). #]
[%- if plan.stage_a() %]

[[ ind ]]// The multipliers' operands, registered[% if !plan.datapath_reset %] (datapath: no reset)[% endif %].
[%- for o in plan.operands %]
[[ ind ]]reg  [ [[- o.bits - 1 ]]:0] [[ o.name ]]_q;
[%- endfor %]
[%- if !plan.datapath_reset %]
[[ ind ]]always @(posedge clk_i) begin
[%- for o in plan.operands %]
[[ ind ]]  [[ o.name ]]_q <= [[ o.name ]]_dec;
[%- endfor %]
[[ ind ]]end
[%- else %]
[[ ind ]]always @(posedge clk_i or negedge rst_ni) begin
[[ ind ]]  if (!rst_ni) begin
[%- for o in plan.operands %]
[[ ind ]]    [[ o.name ]]_q <= [[ o.bits ]]'d0;
[%- endfor %]
[[ ind ]]  end else begin
[%- for o in plan.operands %]
[[ ind ]]    [[ o.name ]]_q <= [[ o.name ]]_dec;
[%- endfor %]
[[ ind ]]  end
[[ ind ]]end
[%- endif %]
[%- endif %]
