[#- The weights of a dense SPARQ PE or dot lane: the caller sets `code` (the
    plan's ActCode; its swap1/swap2 are wires `swap1_dec`/`swap2_dec`), `wgt`
    (the expression of this PE's {b2, b1}) and `ind` (the indentation).
    Declares w1_dec and w2_dec. #]
[%- if code.route %]

[[ ind ]]// Weights: on vSPARQ's wide path both multipliers take the lone
[[ ind ]]// activation's weight.
[[ ind ]]wire [7:0] w1_dec = swap1_dec ? [[ code.wgt(wgt, 1) ]] : [[ code.wgt(wgt, 0) ]];
[[ ind ]]wire [7:0] w2_dec = swap2_dec ? [[ code.wgt(wgt, 0) ]] : [[ code.wgt(wgt, 1) ]];
[%- else %]

[[ ind ]]// Weights: each multiplier takes its own.
[[ ind ]]wire [7:0] w1_dec = [[ code.wgt(wgt, 0) ]];
[[ ind ]]wire [7:0] w2_dec = [[ code.wgt(wgt, 1) ]];
[%- endif %]
