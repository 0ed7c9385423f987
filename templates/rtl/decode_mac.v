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
[%- include "rtl/ports.v" %]
);

[%- for s in slices %]
  assign [[ s.name ]]_o = [[ s.port ]][ [[- s.lsb + s.bits - 1 ]]:[[ s.lsb ]]];
[%- endfor %]

endmodule

`default_nettype wire
