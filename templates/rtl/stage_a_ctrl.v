[#- Stage A of valid_i/clear_i, shared by the PE and the dot unit: with
    pipeline 2 they are registered with the operands (stage_a.v) as
    valid_a_q/clear_a_q; otherwise the multipliers' stage reads valid_i and
    clear_i (plan.ctl_a names the signal either way). #]
[%- if plan.stage_a() %]
  reg  valid_a_q;
  reg  clear_a_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_a_q <= 1'b0;
      clear_a_q <= 1'b0;
    end else begin
      valid_a_q <= valid_i;
      clear_a_q <= clear_i;
    end
  end
[%- endif %]
