[%- include "rtl/header.v" %]
//
// Ports, operand encoding and timing: README.md and manifest.yaml beside
// this file.

`default_nettype none

module [[ module ]] #(
[%- match shape %]
[%- when Shape::Systolic with { rows, cols } %]
  parameter integer Rows    = [[ rows ]],
  parameter integer Cols    = [[ cols ]],
[%- else %]
[%- endmatch %]
  parameter integer AccBits = [[ plan.acc_bits ]]
) (
  input  wire                    clk_i,
  input  wire                    rst_ni,   // asynchronous, active low
  input  wire                    valid_i,  // this cycle's operands are real
  input  wire                    clear_i,  // start a new output
[%- match shape %]
[%- when Shape::Systolic with { rows, cols } %]
  input  wire                    drain_i,  // shift the accumulators one column right
  input  wire [Rows*[[ plan.act_bits ]]-1:0]      act_i,    // row r: act_i[r*[[ plan.act_bits ]] +: [[ plan.act_bits ]]] = [[ act_meaning ]]
  input  wire [Cols*[[ plan.wgt_bits ]]-1:0]      wgt_i,    // column c: wgt_i[c*[[ plan.wgt_bits ]] +: [[ plan.wgt_bits ]]] = [[ wgt_meaning ]]
  output wire [Rows*AccBits-1:0] res_o     // row r: accumulator of PE (r, Cols-1)
);
[%- include "rtl/guard.v" %]

  [[ inner_module ]] #(
    .Rows    (Rows),
    .Cols    (Cols),
    .AccBits (AccBits)
  ) u_array (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_i),
    .clear_i (clear_i),
    .drain_i (drain_i),
    .act_i   (act_i),
    .wgt_i   (wgt_i),
    .res_o   (res_o)
  );
[%- when Shape::Dot with { lanes } %]
  input  wire [ [[- lanes * plan.act_bits - 1 ]]:0]           act_i,    // lane l: act_i[l*[[ plan.act_bits ]] +: [[ plan.act_bits ]]] = [[ act_meaning ]]
  input  wire [ [[- lanes * plan.wgt_bits - 1 ]]:0]           wgt_i,    // lane l: wgt_i[l*[[ plan.wgt_bits ]] +: [[ plan.wgt_bits ]]] = [[ wgt_meaning ]]
  output wire [AccBits-1:0]      acc_o     // accumulator, two's complement
);
[%- include "rtl/guard.v" %]

  [[ inner_module ]] #(
    .AccBits (AccBits)
  ) u_dot (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_i),
    .clear_i (clear_i),
    .act_i   (act_i),
    .wgt_i   (wgt_i),
    .acc_o   (acc_o)
  );
[%- when Shape::Single %]
  input  wire [ [[- plan.act_bits - 1 ]]:0]           act_i,    // [[ act_meaning ]]
  input  wire [ [[- plan.wgt_bits - 1 ]]:0]           wgt_i,    // [[ wgt_meaning ]]
  output wire [AccBits-1:0]      acc_o     // accumulator, two's complement
);
[%- include "rtl/guard.v" %]

  [[ inner_module ]] #(
    .AccBits (AccBits)
  ) u_pe (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_i),
    .clear_i (clear_i),
    .act_i   (act_i),
    .wgt_i   (wgt_i),
    .acc_o   (acc_o)
  );
[%- endmatch %]

endmodule

`default_nettype wire
