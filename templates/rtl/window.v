[%- include "rtl/header.v" %]
//
// Window [[ w.set_name ]]: [[ w.bits ]] bits placed at shift s in {[% for p in w.placements.iter().rev() %][[ p.shift ]][% if !loop.last %], [% endif %][% endfor %]}.
// Placement: the lowest allowed s whose window still covers the leading one
// of a_i, i.e. a_i < 2^(s + [[ w.bits ]]); the lowest placement for a_i = 0.
// sel_o is one-hot, bit k for the k-th placement from the lowest:
// [% for p in w.placements %]sel_o[ [[- p.index ]]] -> s = [[ p.shift ]][% if !loop.last %], [% endif %][% endfor %].
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
[%- include "rtl/ports.v" %]
);

  reg [ [[- w.count() - 2 ]]:0] fits;  // fits[k]: the k-th placement reaches the leading one
  reg [ [[- w.bits - 1 ]]:0] kept;  // the window's bits at the selected placement
[%- if w.round %]
  reg       round_up;
[%- endif %]

  always @(*) begin
    // Leading-one detection restricted to the allowed placements.
    fits = {
[%- for p in w.placements.iter().rev() %]
[%- match p.limit %]
[%- when Some(limit) %]
      (a_i < 8'd[[ limit ]])[% if p.index > 0 %],[% else %] [% endif %]  // placement [[ p.index ]], s = [[ p.shift ]]
[%- when None %]
[%- endmatch %]
[%- endfor %]
    };
    // One-hot: the lowest placement that fits (the highest fits always).
    sel_o = {1'b1, fits} & ~{fits, 1'b0};

    kept =
[%- for p in w.placements %]
        [% if loop.first %] [% else %]|[% endif %] ({[[ w.bits ]]{sel_o[ [[- p.index ]]]}} & a_i[ [[- p.msb ]]:[[ p.shift ]]])[% if loop.last %];[% endif %]
[%- endfor %]
[%- if w.round %]

    // Round half to even at the selected placement, saturating: a window
    // of all ones stays all ones.
    round_up =
[%- for p in w.rounded() %]
[%- match p.round %]
[%- when Some(r) %]
        [% if loop.first %] [% else %]|[% endif %] (sel_o[ [[- p.index ]]] & a_i[ [[- r.r ]]] & [% match r.sticky_msb %][% when Some(0) %](a_i[ [[- r.l ]]] | a_i[0])[% when Some(t) %](a_i[ [[- r.l ]]] | (|a_i[ [[- t ]]:0]))[% when None %]a_i[ [[- r.l ]]][% endmatch %])[% if loop.last %];[% endif %]
[%- when None %]
[%- endmatch %]
[%- endfor %]
    q_o = kept + {[[ w.bits - 1 ]]'d0, round_up & ~(&kept)};
[%- else %]
    q_o = kept;
[%- endif %]
  end

endmodule

`default_nettype wire
