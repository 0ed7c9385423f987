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
[%- for o in plan.operands %]
  input  wire [ [[- o.bits - 1 ]]:0] [[ o.name ]]_i,  // [[ o.meaning ]]
[%- endfor %]
  output wire [ [[- plan.sum_bits - 1 ]]:0] sum_o  // [% if plan.mults.len() == 1 %]c1 * w1[% else %]sum of both products[% endif %], signed
);
[%- for m in plan.mults %]

  // Multiplier [[ m.index ]]: code zero-extended, weight sign-extended to [[ m.prod_bits ]] bits.
  wire signed [ [[- m.prod_bits - 1 ]]:0] prod[[ m.index ]] =
      $signed({8'd0, c[[ m.index ]]_i}) * $signed({{[[ m.code_bits ]]{w[[ m.index ]]_i[7]}}, w[[ m.index ]]_i});
[%- if m.has_shifter() %]
  wire [ [[- m.term_bits - 1 ]]:0] prod[[ m.index ]]_ext = {{[[ m.ext_bits() ]]{prod[[ m.index ]][ [[- m.prod_bits - 1 ]]]}}, prod[[ m.index ]]};
  reg  [ [[- m.term_bits - 1 ]]:0] term[[ m.index ]];
  always @(*) begin
    case (s[[ m.index ]]_i)
[%- for s in m.cased_shifts %]
      3'd[[ s ]]:    term[[ m.index ]] = prod[[ m.index ]]_ext << [[ s ]];
[%- endfor %]
[%- match m.default_shift %]
[%- when Some(0) %]
      default: term[[ m.index ]] = prod[[ m.index ]]_ext;
[%- when Some(s) %]
      default: term[[ m.index ]] = prod[[ m.index ]]_ext << [[ s ]];
[%- when None %]
[%- endmatch %]
    endcase
  end
[%- else %]
  wire [ [[- m.term_bits - 1 ]]:0] term[[ m.index ]] = prod[[ m.index ]];
[%- endif %]
[%- endfor %]

[%- if plan.mults.len() == 1 %]
  assign sum_o = term1;
[%- else %]
  assign sum_o = {term1[ [[- plan.sum_bits - 2 ]]], term1} + {term2[ [[- plan.sum_bits - 2 ]]], term2};
[%- endif %]

endmodule

`default_nettype wire
