[%- include "rtl/header.v" %]
//
// Window [[ w.set_name ]]: [[ w.bits ]] bits placed at shift s in {[% for s in w.shifts %][[ s ]][% if !loop.last %], [% endif %][% endfor %]}.
// Placement: the smallest allowed s whose window still covers the leading
// one of a_i, i.e. a_i < 2^(s + [[ w.bits ]]); the lowest placement for a_i = 0.
[%- if w.round %]
// Rounding: half to even at the window's LSB. With R = a_i[s-1] (first
// dropped bit), L = a_i[s] (window LSB), T = |a_i[s-2:0] (sticky), the code
// rounds up when R & (L | T), saturating at all ones inside the same window
// (the window never moves up). The lowest placement drops nothing.
[%- else %]
// Truncation: the bits below the window are dropped.
[%- endif %]

`default_nettype none

module [[ w.module ]] (
  input  wire [7:0] a_i,  // activation, unsigned
  output reg  [ [[- w.bits - 1 ]]:0] q_o,  // window code: a_i ~= q_o << s_o
  output reg  [2:0] s_o   // shift: index of the window's lowest bit
);
[%- if w.round %]

  reg [ [[- w.bits - 1 ]]:0] kept;  // the window's bits, before rounding
  reg       round_up;
[%- endif %]

  // Placement: leading-one detection restricted to the allowed shifts.
  always @(*) begin
[%- for p in w.select %]
[%- match p.limit %]
[%- when Some(limit) %]
    [% if !loop.first %]end else [% endif %]if (a_i < 8'd[[ limit ]]) begin
      s_o = 3'd[[ p.shift ]];
[%- when None %]
    end else begin
      s_o = 3'd[[ p.shift ]];
    end
[%- endmatch %]
[%- endfor %]
  end

  // Code: the window's bits at the chosen placement[% if w.round %], and the rounding bits[% endif %].
  always @(*) begin
    case (s_o)
[%- for p in w.cased %]
      3'd[[ p.shift ]]: begin
[%- if w.round %]
        kept     = a_i[ [[- p.msb ]]:[[ p.shift ]]];
[%- match p.round %]
[%- when Some(r) %]
[%- match r.sticky_msb %]
[%- when Some(0) %]
        round_up = a_i[ [[- r.r ]]] & (a_i[ [[- r.l ]]] | a_i[0]);
[%- when Some(t) %]
        round_up = a_i[ [[- r.r ]]] & (a_i[ [[- r.l ]]] | (|a_i[ [[- t ]]:0]));
[%- when None %]
        round_up = a_i[ [[- r.r ]]] & a_i[ [[- r.l ]]];
[%- endmatch %]
[%- when None %]
        round_up = 1'b0;
[%- endmatch %]
[%- else %]
        q_o = a_i[ [[- p.msb ]]:[[ p.shift ]]];
[%- endif %]
      end
[%- endfor %]
      default: begin  // shift [[ w.lowest.shift ]]: nothing below the window
[%- if w.round %]
        kept     = a_i[ [[- w.lowest.msb ]]:[[ w.lowest.shift ]]];
        round_up = 1'b0;
[%- else %]
        q_o = a_i[ [[- w.lowest.msb ]]:[[ w.lowest.shift ]]];
[%- endif %]
      end
    endcase
[%- if w.round %]
    // saturate: a window of all ones stays all ones
    q_o = kept + {[[ w.bits - 1 ]]'d0, round_up & ~(&kept)};
[%- endif %]
  end

endmodule

`default_nettype wire
