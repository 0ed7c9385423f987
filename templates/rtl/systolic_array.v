[%- include "rtl/header.v" %]
//
// Output stationary: PE (r, c) accumulates row r of the activations against
// column c of the weights. Inputs arrive unskewed (pair k of every row and
// column in the same cycle); the array delays row r by r cycles and column c
// by c cycles, then activations move one PE right and weights one PE down
// per cycle, so PE (r, c) sees pair k in cycle k + r + c. valid_i/clear_i
// reach PE (r, c) together with its activations (one register chain per
// anti-diagonal r + c, shared by the PEs on it).
[%- match plan.act_code %]
[%- when Some(code) %]
// Each row's activations are decoded once, at the array's left edge
// ([[ decode_module ]]), and the [[ code.bits ]]-bit code travels along the row instead of
// the raw pair: the PEs of a row share one set of windows.
[%- when None %]
[%- endmatch %]
// Drain: res_o shows column Cols-1 of every row; each cycle with drain_i
// shifts every row's accumulators one column right (column 0 loads 0).

`default_nettype none

module [[ module ]] #(
  parameter integer Rows    = [[ rows ]],
  parameter integer Cols    = [[ cols ]],
  parameter integer AccBits = [[ plan.acc_bits ]]  // at least [[ plan.sum_bits ]]
) (
[%- include "rtl/ports.v" %]
);

  localparam integer ActBits = [[ plan.act_bits ]];
[%- match plan.act_code %]
[%- when Some(code) %]
  localparam integer RowBits = [[ code.bits ]];  // what travels along a row: the decoded pair
[%- when None %]
  localparam integer RowBits = ActBits;  // what travels along a row: the raw operand
[%- endmatch %]
  localparam integer WgtBits = [[ plan.wgt_bits ]];
  localparam integer Diags   = Rows + Cols - 1;
[%- include "rtl/guard.v" %]

  genvar r, c, i;

  // Control: valid/clear delayed by r + c for PE (r, c).
  wire [Diags-1:0] valid_w;
  wire [Diags-1:0] clear_w;
  assign valid_w[0] = valid_i;
  assign clear_w[0] = clear_i;
  generate
    for (i = 1; i < Diags; i = i + 1) begin : gen_ctrl
      reg valid_q;
      reg clear_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          valid_q <= 1'b0;
          clear_q <= 1'b0;
        end else begin
          valid_q <= valid_w[i-1];
          clear_q <= clear_w[i-1];
        end
      end
      assign valid_w[i] = valid_q;
      assign clear_w[i] = clear_q;
    end
  endgenerate

  // Activations: row r passes r + Cols - 1 registers; PE (r, c) taps the
  // (r + c)-th (r skew stages, then one per column).
  wire [Rows*Cols*RowBits-1:0] pe_act;
  generate
    for (r = 0; r < Rows; r = r + 1) begin : gen_act_row
      wire [(r+Cols)*RowBits-1:0] chain;
[%- match plan.act_code %]
[%- when Some(code) %]
[%- let ind = "      " %]
[%- let dec_conns = plan.decode_conns("act_i[r*ActBits +: ActBits]", "") %]
[%- include "rtl/decode_inst.v" %]
      assign chain[RowBits-1:0] = {[% for f in code.fields.iter().rev() %][[ f.name ]]_dec[% if !loop.last %], [% endif %][% endfor %]};
[%- when None %]
      assign chain[RowBits-1:0] = act_i[r*ActBits +: ActBits];
[%- endmatch %]
      for (i = 1; i < r + Cols; i = i + 1) begin : gen_stage
        reg [RowBits-1:0] act_q;
[%- if plan.datapath_reset %]
        always @(posedge clk_i or negedge rst_ni) begin
          if (!rst_ni) begin
            act_q <= {RowBits{1'b0}};
          end else begin
            act_q <= chain[(i-1)*RowBits +: RowBits];
          end
        end
[%- else %]
        always @(posedge clk_i) begin  // datapath: no reset
          act_q <= chain[(i-1)*RowBits +: RowBits];
        end
[%- endif %]
        assign chain[i*RowBits +: RowBits] = act_q;
      end
      for (c = 0; c < Cols; c = c + 1) begin : gen_tap
        assign pe_act[(r*Cols+c)*RowBits +: RowBits] = chain[(r+c)*RowBits +: RowBits];
      end
    end
  endgenerate

  // Weights: column c passes c + Rows - 1 registers; PE (r, c) taps the
  // (c + r)-th (c skew stages, then one per row).
  wire [Rows*Cols*WgtBits-1:0] pe_wgt;
  generate
    for (c = 0; c < Cols; c = c + 1) begin : gen_wgt_col
      wire [(c+Rows)*WgtBits-1:0] chain;
      assign chain[WgtBits-1:0] = wgt_i[c*WgtBits +: WgtBits];
      for (i = 1; i < c + Rows; i = i + 1) begin : gen_stage
        reg [WgtBits-1:0] wgt_q;
[%- if plan.datapath_reset %]
        always @(posedge clk_i or negedge rst_ni) begin
          if (!rst_ni) begin
            wgt_q <= {WgtBits{1'b0}};
          end else begin
            wgt_q <= chain[(i-1)*WgtBits +: WgtBits];
          end
        end
[%- else %]
        always @(posedge clk_i) begin  // datapath: no reset
          wgt_q <= chain[(i-1)*WgtBits +: WgtBits];
        end
[%- endif %]
        assign chain[i*WgtBits +: WgtBits] = wgt_q;
      end
      for (r = 0; r < Rows; r = r + 1) begin : gen_tap
        assign pe_wgt[(r*Cols+c)*WgtBits +: WgtBits] = chain[(c+r)*WgtBits +: WgtBits];
      end
    end
  endgenerate

  // Processing elements; the drain path links each row's accumulators.
  wire [Rows*Cols*AccBits-1:0] pe_acc;
  generate
    for (r = 0; r < Rows; r = r + 1) begin : gen_row
      for (c = 0; c < Cols; c = c + 1) begin : gen_col
        wire [AccBits-1:0] left_acc;
        if (c == 0) begin : gen_edge
          assign left_acc = {AccBits{1'b0}};
        end else begin : gen_link
          assign left_acc = pe_acc[(r*Cols+c-1)*AccBits +: AccBits];
        end
[%- let ind = "        " %]
        [[ pe_module ]] #(
[%- let conns = pe_params %]
[%- include "rtl/conns.v" %]
        ) u_pe (
[%- let conns = pe_conns %]
[%- include "rtl/conns.v" %]
        );
      end
      assign res_o[r*AccBits +: AccBits] = pe_acc[(r*Cols+Cols-1)*AccBits +: AccBits];
    end
  endgenerate

endmodule

`default_nettype wire
