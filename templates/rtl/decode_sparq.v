[%- include "rtl/header.v" %]
//
[%- if d.stc %]
// Turns one cycle's operands into the two multipliers' operands: code c,
// product shift s and weight w each.
[%- else %]
// Turns one activation pair into the two multipliers' codes c and product
// shifts s[% if d.wide.is_some() %], and says which weight each multiplier takes[% endif %]. It sees no
// weights: a systolic array decodes each row once, at its left edge.
[%- endif %]
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
// its weight[% if !d.stc %] (swap1_o/swap2_o tell the PE which weight that is)[% endif %].
[%- when None %]
// Pair sharing is off (bSPARQ alone): every activation keeps its own window.
[%- endmatch %]

`default_nettype none
[%- let ind = "  " %]

module [[ module ]] (
[%- include "rtl/ports.v" %]
);

[%- if d.stc %]
  wire [7:0] b1 = [[ wgt(0) ]];
  wire [7:0] b2 = [[ wgt(1) ]];
[%- endif %]
  reg  [7:0] a1;
  reg  [7:0] a2;
[%- if d.wide.is_some() %]
  reg        wide;    // one activation is zero: the other takes the whole budget
  reg  [7:0] lone_a;  // the non-zero one (0 if both are)
[%- if d.stc %]
  reg  [7:0] lone_w;  // its weight
[%- endif %]
[%- endif %]
[%- if d.stc %]
  reg  [3:0] hot1;    // idx1, one-hot
  reg  [3:0] hot2;    // idx2, one-hot
[%- endif %]

  // Operand selection.
  always @(*) begin
[%- if d.stc %]
    // Slots: the activation at each non-zero weight's position; a zero
    // weight is a missing member (activation 0).
    hot1 = 4'b0001 << [[ idx(0) ]];
    hot2 = 4'b0001 << [[ idx(1) ]];
    a1 = ({8{hot1[0]}} & [[ act(0) ]]) | ({8{hot1[1]}} & [[ act(1) ]])
       | ({8{hot1[2]}} & [[ act(2) ]]) | ({8{hot1[3]}} & [[ act(3) ]]);
    a2 = ({8{hot2[0]}} & [[ act(0) ]]) | ({8{hot2[1]}} & [[ act(1) ]])
       | ({8{hot2[2]}} & [[ act(2) ]]) | ({8{hot2[3]}} & [[ act(3) ]]);
    if (b1 == 8'd0) a1 = 8'd0;
    if (b2 == 8'd0) a2 = 8'd0;
[%- else %]
    a1 = [[ act(0) ]];
    a2 = [[ act(1) ]];
[%- endif %]
[%- if d.wide.is_some() %]
    // vSPARQ: a zero activation frees its multiplier for the partner.
    wide   = (a1 == 8'd0) | (a2 == 8'd0);
    lone_a = (a1 == 8'd0) ? a2 : a1;
[%- if d.stc %]
    lone_w = (a1 == 8'd0) ? b2 : b1;
[%- endif %]
[%- endif %]
  end

  // Narrow windows, one per activation.
  wire [ [[- d.n - 1 ]]:0] q1;
  wire [ [[- d.n - 1 ]]:0] q2;
  wire [ [[- d.window.count() - 1 ]]:0] sel1;
  wire [ [[- d.window.count() - 1 ]]:0] sel2;
  [[ d.window.module ]] u_window1 (
[%- let conns = window_conns("a1", "q1", "sel1") %]
[%- include "rtl/conns.v" %]
  );
  [[ d.window.module ]] u_window2 (
[%- let conns = window_conns("a2", "q2", "sel2") %]
[%- include "rtl/conns.v" %]
  );
[%- match d.wide %]
[%- when Some(wide) %]
[%- match wide.window %]
[%- when Some(ww) %]

  // Wide window of the lone activation.
  wire [ [[- 2 * d.n - 1 ]]:0] qw;
  wire [ [[- ww.count() - 1 ]]:0] wsel;
  [[ ww.module ]] u_wide_window (
[%- let conns = window_conns("lone_a", "qw", "wsel") %]
[%- include "rtl/conns.v" %]
  );

  // Routing. Wide: the code's upper half on multiplier 1 (shift S + [[ d.n ]]),
  // the lower half on multiplier 2 (shift S), both against the lone weight.
  always @(*) begin
    c1_o = wide ? qw[ [[- 2 * d.n - 1 ]]:[[ d.n ]]] : q1;
    c2_o = wide ? qw[ [[- d.n - 1 ]]:0] : q2;
[%- when None %]

  // Routing. Wide (n = 4): the exact value split into its two nibbles,
  // multiplier 1 at shift 4 and multiplier 2 at shift 0, both against the
  // lone weight.
  always @(*) begin
    c1_o = wide ? lone_a[7:4] : q1;
    c2_o = wide ? lone_a[3:0] : q2;
[%- endmatch %]
[%- if d.stc %]
    w1_o = wide ? lone_w : b1;
    w2_o = wide ? lone_w : b2;
[%- else %]
    swap1_o = (a1 == 8'd0);
    swap2_o = (a2 == 8'd0) & (a1 != 8'd0);
[%- endif %]
    // One-hot shifts: the wide path's, or each window's placement.
    s1_o = wide ? [[ d.wide_shifts(1) ]] : [[ d.narrow_shifts(1) ]];
    s2_o = wide ? [[ d.wide_shifts(2) ]] : [[ d.narrow_shifts(2) ]];
  end
[%- when None %]

  // Routing: every activation keeps its own window.
  always @(*) begin
    c1_o = q1;
[%- if d.stc %]
    w1_o = b1;
[%- endif %]
    c2_o = q2;
[%- if d.stc %]
    w2_o = b2;
[%- endif %]
    s1_o = [[ d.narrow_shifts(1) ]];
    s2_o = [[ d.narrow_shifts(2) ]];
  end
[%- endmatch %]

endmodule

`default_nettype wire
