[%- include "rtl/header.v" %]
//
// Turns one cycle's operands into the two multipliers' operands: code c,
// product shift s and weight w each.
[%- if d.stc %]
// 2:4 weights: slot j multiplies b_j with activation a[idx_j] of the group
// of four; a slot whose weight is zero is a missing member (activation 0).
[%- endif %]
// Each activation is trimmed to its [[ d.n ]]-bit window ([[ d.window.set_name ]]).
[%- match d.wide %]
[%- when Some(wide) %]
// vSPARQ: when one activation of the pair is zero, the other one takes the
// pair's whole [[ 2 * d.n ]]-bit budget ([% match wide.window %][% when Some(ww) %][[ ww.set_name ]] window[% when None %]its exact 8-bit value[% endmatch %]); both multipliers then
// take the two [[ d.n ]]-bit halves of that code (shifts S + [[ d.n ]] and S) against
// its weight.
[%- when None %]
// Pair sharing is off (bSPARQ alone): every activation keeps its own window.
[%- endmatch %]

`default_nettype none

module [[ module ]] (
[%- if d.stc %]
  input  wire [31:0] act_i,  // {a3, a2, a1, a0}: one group of four, unsigned
  input  wire [19:0] wgt_i,  // {idx2, idx1, b2, b1}: weights signed, idx 2 bits
[%- else %]
  input  wire [15:0] act_i,  // {a2, a1}, unsigned
  input  wire [15:0] wgt_i,  // {b2, b1}, signed
[%- endif %]
  output wire [ [[- d.n - 1 ]]:0]  c1_o,   // multiplier 1: code (unsigned)
  output wire [2:0]  s1_o,   // multiplier 1: product shift
  output wire [7:0]  w1_o,   // multiplier 1: weight (signed)
  output wire [ [[- d.n - 1 ]]:0]  c2_o,   // multiplier 2: code (unsigned)
  output wire [2:0]  s2_o,   // multiplier 2: product shift
  output wire [7:0]  w2_o    // multiplier 2: weight (signed)
);

  wire [7:0] b1 = wgt_i[7:0];
  wire [7:0] b2 = wgt_i[15:8];
[%- if d.stc %]
  wire [1:0] idx1 = wgt_i[17:16];
  wire [1:0] idx2 = wgt_i[19:18];

  // Slot selection: the activation at each non-zero weight's position.
  reg [7:0] pick1;
  reg [7:0] pick2;
  always @(*) begin
    case (idx1)
      2'd0:    pick1 = act_i[7:0];
      2'd1:    pick1 = act_i[15:8];
      2'd2:    pick1 = act_i[23:16];
      default: pick1 = act_i[31:24];
    endcase
    case (idx2)
      2'd0:    pick2 = act_i[7:0];
      2'd1:    pick2 = act_i[15:8];
      2'd2:    pick2 = act_i[23:16];
      default: pick2 = act_i[31:24];
    endcase
  end
  wire [7:0] a1 = (b1 != 8'd0) ? pick1 : 8'd0;
  wire [7:0] a2 = (b2 != 8'd0) ? pick2 : 8'd0;
[%- else %]
  wire [7:0] a1 = act_i[7:0];
  wire [7:0] a2 = act_i[15:8];
[%- endif %]

  // Narrow windows, one per activation.
  wire [ [[- d.n - 1 ]]:0] q1;
  wire [ [[- d.n - 1 ]]:0] q2;
  wire [2:0] sn1;
  wire [2:0] sn2;
  [[ d.window.module ]] u_window1 (
    .a_i (a1),
    .q_o (q1),
    .s_o (sn1)
  );
  [[ d.window.module ]] u_window2 (
    .a_i (a2),
    .q_o (q2),
    .s_o (sn2)
  );
[%- match d.wide %]
[%- when Some(wide) %]

  // vSPARQ routing: a zero activation frees its multiplier for the partner.
  wire       a1_zero = (a1 == 8'd0);
  wire       wide    = a1_zero | (a2 == 8'd0);
  wire [7:0] lone_a  = a1_zero ? a2 : a1;  // the non-zero one (0 if both are)
  wire [7:0] lone_w  = a1_zero ? b2 : b1;
[%- match wide.window %]
[%- when Some(ww) %]
  wire [ [[- 2 * d.n - 1 ]]:0] qw;
  wire [2:0] sw;
  [[ ww.module ]] u_wide_window (
    .a_i (lone_a),
    .q_o (qw),
    .s_o (sw)
  );

  assign c1_o = wide ? qw[ [[- 2 * d.n - 1 ]]:[[ d.n ]]] : q1;
  assign s1_o = wide ? sw + 3'd[[ d.n ]] : sn1;
  assign w1_o = wide ? lone_w : b1;
  assign c2_o = wide ? qw[ [[- d.n - 1 ]]:0] : q2;
  assign s2_o = wide ? sw : sn2;
  assign w2_o = wide ? lone_w : b2;
[%- when None %]
  // n = 4: the wide window is the exact value, split into its two nibbles.
  assign c1_o = wide ? lone_a[7:4] : q1;
  assign s1_o = wide ? 3'd4 : sn1;
  assign w1_o = wide ? lone_w : b1;
  assign c2_o = wide ? lone_a[3:0] : q2;
  assign s2_o = wide ? 3'd0 : sn2;
  assign w2_o = wide ? lone_w : b2;
[%- endmatch %]
[%- when None %]

  assign c1_o = q1;
  assign s1_o = sn1;
  assign w1_o = b1;
  assign c2_o = q2;
  assign s2_o = sn2;
  assign w2_o = b2;
[%- endmatch %]

endmodule

`default_nettype wire
