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
// Streaming output: every tile starts with clear_i, and that clear, as it
// reaches each PE's accumulator, also copies the finished result of the
// tile before into the PE's output register (out_q); a row's output
// registers then shift right, one column per cycle, while the next tile
// computes. res_o shows row r's column Cols-1 accumulator in the cycle
// before the clear reaches it, then the output chain: columns Cols-2 .. 0,
// one per cycle. Tiles must start at least Cols cycles apart (a shorter
// tile waits with valid_i = 0); a stream ends with a clear_i without
// valid_i, which pushes out the last tile.

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
  localparam integer Stages  = [[ plan.pipeline ]];  // PE pipeline: the accumulator sees clear Stages cycles after the PE's input
  // clear_i reaches PE (r, c)'s input after r + c cycles and its accumulator
  // Stages cycles later; with more than one column the output chain needs
  // the latter for every PE.
  localparam integer Marks   = (Cols > 1) ? Diags + Stages : Diags;
[%- include "rtl/guard.v" %]

  genvar r, c, i;

  // Control: valid/clear delayed by r + c for PE (r, c); clear_w goes on
  // for Stages more cycles, to where the accumulators see it.
  wire [Diags-1:0] valid_w;
  wire [Marks-1:0] clear_w;
  assign valid_w[0] = valid_i;
  assign clear_w[0] = clear_i;
  generate
    for (i = 1; i < Diags; i = i + 1) begin : gen_ctrl
      reg valid_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          valid_q <= 1'b0;
        end else begin
          valid_q <= valid_w[i-1];
        end
      end
      assign valid_w[i] = valid_q;
    end
    for (i = 1; i < Marks; i = i + 1) begin : gen_clear
      reg clear_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          clear_q <= 1'b0;
        end else begin
          clear_q <= clear_w[i-1];
        end
      end
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

  // Processing elements.
  wire [Rows*Cols*AccBits-1:0] pe_acc;
  generate
    for (r = 0; r < Rows; r = r + 1) begin : gen_row
      for (c = 0; c < Cols; c = c + 1) begin : gen_col
[%- let ind = "        " %]
        [[ pe_module ]] #(
[%- let conns = pe_params %]
[%- include "rtl/conns.v" %]
        ) u_pe (
[%- let conns = pe_conns %]
[%- include "rtl/conns.v" %]
        );
      end
    end
  endgenerate

  // Output chain of row r: out_q of column c < Cols-1 loads the PE's
  // finished result when clear reaches its accumulator (index r+c+Stages of
  // clear_w), holds it until clear reaches column Cols-1 (the row's last
  // result is final), then shifts right; column 0 shifts in zeros.
  // hold_q of column Cols-2 is set exactly in the cycle before that: then
  // res_o shows column Cols-1's accumulator itself (show_acc).
  generate
    for (r = 0; r < Rows; r = r + 1) begin : gen_out_row
      if (Cols == 1) begin : gen_direct
        assign res_o[r*AccBits +: AccBits] = pe_acc[r*AccBits +: AccBits];
      end else begin : gen_chain
        wire [(Cols-1)*AccBits-1:0] out_w;
        wire                        show_acc;
        wire                        row_done = clear_w[r+Cols-1+Stages];
        for (c = 0; c < Cols - 1; c = c + 1) begin : gen_out
          wire               load = clear_w[r+c+Stages];
          wire [AccBits-1:0] left;
          reg  [AccBits-1:0] out_d;
          reg  [AccBits-1:0] out_q;
          reg                hold_q;
          wire               hold_d = load | (hold_q & ~row_done);
          if (c == 0) begin : gen_edge
            assign left = {AccBits{1'b0}};
          end else begin : gen_link
            assign left = out_w[(c-1)*AccBits +: AccBits];
          end
          always @(*) begin
            if (load) begin
              out_d = pe_acc[(r*Cols+c)*AccBits +: AccBits];
            end else if (hold_q) begin
              out_d = out_q;
            end else begin
              out_d = left;
            end
          end
          // reset like the accumulators (also without datapath reset), so
          // rst_ni clears every output
          always @(posedge clk_i or negedge rst_ni) begin
            if (!rst_ni) begin
              out_q <= {AccBits{1'b0}};
            end else begin
              out_q <= out_d;
            end
          end
          always @(posedge clk_i or negedge rst_ni) begin
            if (!rst_ni) begin
              hold_q <= 1'b0;
            end else begin
              hold_q <= hold_d;
            end
          end
          assign out_w[c*AccBits +: AccBits] = out_q;
          if (c == Cols - 2) begin : gen_last
            assign show_acc = hold_q;
          end
        end
        assign res_o[r*AccBits +: AccBits] = show_acc ?
            pe_acc[(r*Cols+Cols-1)*AccBits +: AccBits] : out_w[(Cols-2)*AccBits +: AccBits];
      end
    end
  endgenerate

endmodule

`default_nettype wire
