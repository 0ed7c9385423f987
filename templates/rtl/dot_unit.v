[%- include "rtl/header.v" %]
//
// [[ lanes ]] lanes, each a PE datapath without accumulator (decode, [% if plan.pipeline >= 2 %]register, [% endif %]multipliers),
// into an adder tree and one accumulator that adds the sum of all lane
// products per valid cycle. Pipeline [[ plan.pipeline ]]: the operands' sum is in acc_o
// after [[ plan.latency_text() ]]; valid_i and clear_i travel with
// the operands.
// Lane l is act_i[l*[[ plan.act_bits ]] +: [[ plan.act_bits ]]], wgt_i[l*[[ plan.wgt_bits ]] +: [[ plan.wgt_bits ]]]. The lane count is structure
// (the adder tree is generated for it); widths are parameters.

`default_nettype none

module [[ module ]] #(
  parameter integer AccBits = [[ plan.acc_bits ]]  // accumulator width, at least [[ tree_bits ]]
) (
[%- include "rtl/ports.v" %]
);

  localparam integer Lanes    = [[ lanes ]];
  localparam integer ActBits  = [[ plan.act_bits ]];
  localparam integer WgtBits  = [[ plan.wgt_bits ]];
  localparam integer SumBits  = [[ plan.sum_bits ]];  // one lane's product sum, signed
  localparam integer TreeBits = [[ tree_bits ]];  // the adder tree's result, signed
[%- include "rtl/guard.v" %]

  genvar l;

  // Stage A control: [% if plan.stage_a() %]registered with the lanes' operands (pipeline 2).[% else %]no register (pipeline < 2).[% endif %]
[%- include "rtl/stage_a_ctrl.v" %]

  // Lanes.
  wire [Lanes*SumBits-1:0] lvl0_sum;
  generate
    for (l = 0; l < Lanes; l = l + 1) begin : gen_lane
[%- let ind = "      " %]
[%- let dec_conns = plan.decode_conns("act_i[l*ActBits +: ActBits]", "wgt_i[l*WgtBits +: WgtBits]") %]
[%- include "rtl/decode_inst.v" %]
[%- match plan.act_code %]
[%- when Some(code) %]
      wire [WgtBits-1:0] wgt_l = wgt_i[l*WgtBits +: WgtBits];
[%- let wgt = "wgt_l" %]
[%- include "rtl/route.v" %]
[%- when None %]
[%- endmatch %]
[%- include "rtl/stage_a.v" %]
      [[ mul_module ]] u_pair_mul (
[%- let conns = plan.mul_conns("lvl0_sum[l*SumBits +: SumBits]") %]
[%- include "rtl/conns.v" %]
      );
    end
  endgenerate

  // Adder tree: each level adds neighbours pairwise (an odd last node passes
  // through) and grows by one bit.
[%- if !levels.is_empty() %]
  genvar j;
  localparam integer Lvl0Nodes = Lanes;
  localparam integer Lvl0Bits  = SumBits;
[%- endif %]
[%- for lv in levels %]
  localparam integer Lvl[[ lv.index ]]Nodes = [[ lv.nodes ]];
  localparam integer Lvl[[ lv.index ]]Bits  = [[ lv.bits ]];
  wire [Lvl[[ lv.index ]]Nodes*Lvl[[ lv.index ]]Bits-1:0] lvl[[ lv.index ]]_sum;
  generate
    for (j = 0; j < Lvl[[ lv.index ]]Nodes; j = j + 1) begin : gen_lvl[[ lv.index ]]
      wire [Lvl[[ lv.index - 1 ]]Bits-1:0] lhs = lvl[[ lv.index - 1 ]]_sum[2*j*Lvl[[ lv.index - 1 ]]Bits +: Lvl[[ lv.index - 1 ]]Bits];
      if (2*j+1 < Lvl[[ lv.index - 1 ]]Nodes) begin : gen_add
        wire [Lvl[[ lv.index - 1 ]]Bits-1:0] rhs = lvl[[ lv.index - 1 ]]_sum[(2*j+1)*Lvl[[ lv.index - 1 ]]Bits +: Lvl[[ lv.index - 1 ]]Bits];
[%- if lv.bits > lv.prev_bits %]
        assign lvl[[ lv.index ]]_sum[j*Lvl[[ lv.index ]]Bits +: Lvl[[ lv.index ]]Bits] = {lhs[Lvl[[ lv.index - 1 ]]Bits-1], lhs} + {rhs[Lvl[[ lv.index - 1 ]]Bits-1], rhs};
[%- else %]
        // at the width of the whole sum: no partial sum can overflow it
        assign lvl[[ lv.index ]]_sum[j*Lvl[[ lv.index ]]Bits +: Lvl[[ lv.index ]]Bits] = lhs + rhs;
[%- endif %]
      end else begin : gen_pass
[%- if lv.bits > lv.prev_bits %]
        assign lvl[[ lv.index ]]_sum[j*Lvl[[ lv.index ]]Bits +: Lvl[[ lv.index ]]Bits] = {lhs[Lvl[[ lv.index - 1 ]]Bits-1], lhs};
[%- else %]
        assign lvl[[ lv.index ]]_sum[j*Lvl[[ lv.index ]]Bits +: Lvl[[ lv.index ]]Bits] = lhs;
[%- endif %]
      end
    end
  endgenerate
[%- endfor %]
  wire [TreeBits-1:0] tree_a = lvl[[ levels.len() ]]_sum;

[%- let acc_src = "tree" %]
[%- let acc_width = "TreeBits" %]
[%- let stage_what = "tree's sum" %]
[%- include "rtl/accumulator.v" %]

endmodule

`default_nettype wire
