[#- The weights of a dense SPARQ PE or dot lane: the caller sets `code` (the
    plan's ActCode; its swap1/swap2 are wires `swap1_d`/`swap2_d`), `wgt`
    (the expression of this PE's {b2, b1}) and `ind` (the indentation).
    Declares w1_d and w2_d. #]
[%- if code.route %]

[[ ind ]]// Weights: on vSPARQ's wide path both multipliers take the lone
[[ ind ]]// activation's weight.
[[ ind ]]wire [7:0] w1_d = swap1_d ? [[ wgt ]][15:8] : [[ wgt ]][7:0];
[[ ind ]]wire [7:0] w2_d = swap2_d ? [[ wgt ]][7:0] : [[ wgt ]][15:8];
[%- else %]

[[ ind ]]// Weights: each multiplier takes its own.
[[ ind ]]wire [7:0] w1_d = [[ wgt ]][7:0];
[[ ind ]]wire [7:0] w2_d = [[ wgt ]][15:8];
[%- endif %]
