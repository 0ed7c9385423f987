[#- Stage A of a PE or a dot lane: with pipeline 2 the multipliers'
    operands are registered after the decode. The caller sets `ind` (the
    indentation); `<operand>_dec` enter, `<operand>_a` leave. valid/clear
    travel through stage_a_ctrl.v. #]

[[ ind ]]// The multipliers' operands[% if plan.pipeline >= 2 %], registered[% endif %].
[%- for o in plan.operands %]
[[ ind ]]wire [ [[- o.bits - 1 ]]:0] [[ o.name ]]_a;
[%- endfor %]
[%- if plan.pipeline >= 2 %]
[%- for o in plan.operands %]
[[ ind ]]reg  [ [[- o.bits - 1 ]]:0] [[ o.name ]]_q;
[%- endfor %]
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
[%- for o in plan.operands %]
[[ ind ]]assign [[ o.name ]]_a = [[ o.name ]]_q;
[%- endfor %]
[%- else %]
[%- for o in plan.operands %]
[[ ind ]]assign [[ o.name ]]_a = [[ o.name ]]_dec;
[%- endfor %]
[%- endif %]
