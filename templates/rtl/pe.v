[%- include "rtl/header.v" %]
//
// Per cycle: decode -> [% if plan.pipeline >= 2 %]register -> [% endif %]multipliers -> [% if plan.pipeline >= 1 %]register -> [% endif %]accumulate.
// Pipeline [[ plan.pipeline ]]: the product of the operands presented at cycle t is in acc_o
// after the rising edge of cycle t + [[ plan.pipeline ]] (latency [[ plan.pipeline + 1 ]] edges); valid_i and
// clear_i travel with the operands.
// Accumulate: with valid, acc <= clear ? product : acc + product; without
// valid, clear loads 0. The accumulator wraps modulo 2^AccBits.
[%- if drain %]
// Drain (systolic arrays): drain_i loads drain_acc_i, the left neighbour's
// accumulator; it takes priority and is only asserted with nothing in flight.
[%- endif %]

`default_nettype none

module [[ module ]] #(
  parameter integer AccBits = [[ plan.acc_bits ]]  // accumulator width, at least [[ plan.sum_bits ]]
) (
  input  wire               clk_i,
  input  wire               rst_ni,       // asynchronous, active low
  input  wire               valid_i,      // this cycle's operands are real
  input  wire               clear_i,      // start a new output
[%- if drain %]
  input  wire               drain_i,      // shift: load drain_acc_i
  input  wire [AccBits-1:0] drain_acc_i,  // left neighbour's accumulator
[%- endif %]
[%- match code_in %]
[%- when Some(code) %]
  input  wire [ [[- code.bits - 1 ]]:0]        code_i,       // the row's activations, decoded at the array's edge
[%- when None %]
  input  wire [ [[- plan.act_bits - 1 ]]:0]        act_i,        // [[ act_meaning ]]
[%- endmatch %]
  input  wire [ [[- plan.wgt_bits - 1 ]]:0]        wgt_i,        // [[ wgt_meaning ]]
  output wire [AccBits-1:0] acc_o         // accumulator, two's complement
);

  localparam integer SumBits = [[ plan.sum_bits ]];  // one cycle's product sum, signed
[%- include "rtl/guard.v" %]

[%- let ind = "  " %]
[%- let dec_act = "act_i" %]
[%- let dec_wgt = "wgt_i" %]
[%- match code_in %]
[%- when Some(code) %]

  // The activations arrive decoded: code_i is N_decode's output for this
  // row, {[% for f in code.fields.iter().rev() %][[ f.name ]][% if !loop.last %], [% endif %][% endfor %]}.
[%- for f in code.fields %]
  wire [[ f.range() ]][[ f.name ]]_dec = code_i[[ f.select() ]];
[%- endfor %]
[%- when None %]

  // Decode.
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
[%- for o in plan.operands %]
    .[[ o.name ]]_i  ([[ plan.operand_a(o.name) ]]),
[%- endfor %]
    .sum_o (sum_a)
  );

[%- let acc_src = "sum" %]
[%- let acc_width = "SumBits" %]
[%- let stage_what = "product sum" %]
[%- include "rtl/accumulator.v" %]

endmodule

`default_nettype wire
