[%- include "rtl/header.v" %]
//
[%- if plan.mults.len() == 1 %]
// Baseline 8b x 8b MAC: the operands go to the multiplier unchanged.
[%- else %]
// Baseline 4b x 8b MAC: two pre-quantized 4-bit activation codes and two
// weights go to the two multipliers unchanged.
[%- endif %]

`default_nettype none

module [[ module ]] (
  input  wire [ [[- plan.act_bits - 1 ]]:0] act_i,  // [% if plan.mults.len() == 1 %]a, unsigned[% else %]{q2, q1}: 4-bit codes, unsigned[% endif %]
  input  wire [ [[- plan.wgt_bits - 1 ]]:0] wgt_i,  // [% if plan.mults.len() == 1 %]b, signed[% else %]{b2, b1}, signed[% endif %]
[%- for o in plan.operands %]
  output wire [ [[- o.bits - 1 ]]:0] [[ o.name ]]_o[% if !loop.last %],[% else %] [% endif %]  // [[ o.meaning ]]
[%- endfor %]
);

[%- for s in slices %]
  assign [[ s.name ]]_o = [[ s.port ]][ [[- s.lsb + s.bits - 1 ]]:[[ s.lsb ]]];
[%- endfor %]

endmodule

`default_nettype wire
