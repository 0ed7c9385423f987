// Test bench for tests/it/generate.rs: replays a cycle-by-cycle stimulus
// into a generated top and compares its output after each rising edge with
// the value the Rust model expects (expected values come from `arith`).
// Files in the working directory: stim.hex ({drain, clear, valid, wgt, act}
// per cycle) and expect.hex ({check, value} per cycle).
// Defines: TOP (the top module), SYSTOLIC (the top has drain_i and res_o).
`default_nettype none
`timescale 1ns / 1ps

module replay_tb;
  parameter integer ActBits = 16;
  parameter integer WgtBits = 16;
  parameter integer OutBits = 32;
  parameter integer Cycles  = 1;
  localparam integer InBits = 3 + WgtBits + ActBits;

  reg [InBits-1:0]  stim   [0:Cycles-1];
  reg [OutBits:0]   expect [0:Cycles-1];

  reg               clk;
  reg               rst_n;
  reg               drain;
  reg               clear;
  reg               valid;
  reg [WgtBits-1:0] wgt;
  reg [ActBits-1:0] act;
  wire [OutBits-1:0] out;

`ifdef SYSTOLIC
  `TOP dut (
    .clk_i(clk), .rst_ni(rst_n), .valid_i(valid), .clear_i(clear), .drain_i(drain),
    .act_i(act), .wgt_i(wgt), .res_o(out)
  );
`else
  `TOP dut (
    .clk_i(clk), .rst_ni(rst_n), .valid_i(valid), .clear_i(clear),
    .act_i(act), .wgt_i(wgt), .acc_o(out)
  );
`endif

  integer t;
  integer errors;
  integer checked;
  initial begin
    $readmemh("stim.hex", stim);
    $readmemh("expect.hex", expect);
    errors = 0;
    checked = 0;
    clk = 1'b0;
    rst_n = 1'b0;
    {drain, clear, valid, wgt, act} = {InBits{1'b0}};
    #1 rst_n = 1'b1;
    for (t = 0; t < Cycles; t = t + 1) begin
      {drain, clear, valid, wgt, act} = stim[t];
      #1 clk = 1'b1;
      #1;
      if (expect[t][OutBits]) begin
        checked = checked + 1;
        if (out !== expect[t][OutBits-1:0]) begin
          errors = errors + 1;
          if (errors <= 5)
            $display("MISMATCH cycle %0d: stimulus %h, got %h, want %h",
                     t, stim[t], out, expect[t][OutBits-1:0]);
        end
      end
      clk = 1'b0;
    end
    $display("DONE cycles %0d checked %0d errors %0d", Cycles, checked, errors);
    $finish;
  end
endmodule

`default_nettype wire
