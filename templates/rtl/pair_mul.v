[%- include "rtl/header.v" %]
//
[%- if plan.mults.len() == 1 %]
// One multiplier: an unsigned [[ plan.mults[0].code_bits ]]-bit activation times a signed 8-bit weight.
[%- else %]
// Two multipliers, each an unsigned [[ plan.mults[0].code_bits ]]-bit code times a signed 8-bit
// weight[% if plan.mults[0].has_shifter() %], the product shifted left by the code's window position[% endif %];
// the output is their sum.
[%- endif %]
// Purely combinational; sum_o is signed, [[ plan.sum_bits ]] bits.

`default_nettype none

module [[ module ]] (
[%- include "rtl/ports.v" %]
);
[%- for m in plan.mults %]
  reg signed [ [[- m.prod_bits - 1 ]]:0] prod[[ m.index ]];  // multiplier [[ m.index ]]
[%- if m.has_shifter() %]
  reg        [ [[- m.term_bits - 1 ]]:0] prod[[ m.index ]]_ext;
[%- endif %]
  reg        [ [[- m.term_bits - 1 ]]:0] term[[ m.index ]];
[%- endfor %]

  always @(*) begin
[%- for m in plan.mults %]
    // Multiplier [[ m.index ]]: code zero-extended, weight sign-extended to [[ m.prod_bits ]] bits.
    prod[[ m.index ]] = $signed({8'd0, c[[ m.index ]]_i}) * $signed({{[[ m.code_bits ]]{w[[ m.index ]]_i[7]}}, w[[ m.index ]]_i});
[%- if m.has_shifter() %]
    // shifted by the one-hot s[[ m.index ]]_i
    prod[[ m.index ]]_ext = {{[[ m.ext_bits() ]]{prod[[ m.index ]][ [[- m.prod_bits - 1 ]]]}}, prod[[ m.index ]]};
    term[[ m.index ]] =
[%- for sh in m.shifts %]
        [% if loop.first %] [% else %]|[% endif %] ({[[ m.term_bits ]]{s[[ m.index ]]_i[ [[- sh.bit ]]]}} & [% if sh.amount == 0 %]prod[[ m.index ]]_ext[% else %](prod[[ m.index ]]_ext << [[ sh.amount ]])[% endif %])[% if loop.last %];[% endif %]
[%- endfor %]
[%- else %]
    term[[ m.index ]] = prod[[ m.index ]];
[%- endif %]
[%- endfor %]
[%- if plan.mults.len() == 1 %]
    sum_o = term1;
[%- else %]
    sum_o = {term1[ [[- plan.sum_bits - 2 ]]], term1} + {term2[ [[- plan.sum_bits - 2 ]]], term2};
[%- endif %]
  end

endmodule

`default_nettype wire
