[%- include "rtl/header.v" %]
//
// Per cycle: decode -> [% if plan.pipeline >= 2 %]register -> [% endif %]multipliers -> [% if plan.pipeline >= 1 %]register -> [% endif %]accumulate.
// Pipeline [[ plan.pipeline ]]: the product of the operands presented in a cycle is in acc_o
// after [[ plan.latency_text() ]]; valid_i and clear_i travel with
// the operands.
// Accumulate: with valid, acc <= clear ? product : acc + product; without
// valid, clear loads 0. The accumulator wraps modulo 2^AccBits.

`default_nettype none

module [[ module ]] #(
  parameter integer AccBits = [[ plan.acc_bits ]]  // accumulator width, at least [[ plan.sum_bits ]]
) (
[%- include "rtl/ports.v" %]
);

  localparam integer SumBits = [[ plan.sum_bits ]];  // one cycle's product sum, signed
[%- include "rtl/guard.v" %]

[%- let ind = "  " %]
[%- match code_in %]
[%- when Some(code) %]

  // The activations arrive decoded: code_i is N_decode's output for this
  // row, {[% for f in code.fields.iter().rev() %][[ f.name ]][% if !loop.last %], [% endif %][% endfor %]}.
[%- for f in code.fields %]
  wire [[ f.range() ]][[ f.name ]]_dec = code_i[[ f.select() ]];
[%- endfor %]
[%- when None %]

  // Decode.
[%- let dec_conns = plan.decode_conns("act_i", "wgt_i") %]
[%- include "rtl/decode_inst.v" %]
[%- endmatch %]
[%- match plan.act_code %]
[%- when Some(code) %]
[%- let wgt = "wgt_i" %]
[%- include "rtl/route.v" %]
[%- when None %]
[%- endmatch %]

  // Stage A: [% if plan.stage_a() %]the multipliers' operands are registered (pipeline 2).[% else %]no register (pipeline < 2).[% endif %]
[%- include "rtl/stage_a_ctrl.v" %]
[%- include "rtl/stage_a.v" %]

  // Multipliers.
  wire [SumBits-1:0] sum_a;
  [[ mul_module ]] u_pair_mul (
[%- let conns = plan.mul_conns("sum_a") %]
[%- include "rtl/conns.v" %]
  );

[%- let acc_src = "sum" %]
[%- let acc_width = "SumBits" %]
[%- let stage_what = "product sum" %]
[%- include "rtl/accumulator.v" %]

endmodule

`default_nettype wire
