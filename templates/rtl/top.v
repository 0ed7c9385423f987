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
[%- include "rtl/ports.v" %]
);
[%- let ind = "  " %]
[%- include "rtl/guard.v" %]

  [[ inner_module ]] #(
[%- let conns = inner_params %]
[%- include "rtl/conns.v" %]
  ) [[ instance ]] (
[%- let conns = inner_conns %]
[%- include "rtl/conns.v" %]
  );

endmodule

`default_nettype wire
