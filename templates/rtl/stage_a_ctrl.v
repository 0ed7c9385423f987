[#- Stage A of valid_i/clear_i, shared by the PE and the dot unit: with
    pipeline 2 they are registered with the operands (stage_a.v). #]
  wire valid_a;
  wire clear_a;
[%- if plan.pipeline >= 2 %]
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
  assign valid_a = valid_a_q;
  assign clear_a = clear_a_q;
[%- else %]
  assign valid_a = valid_i;
  assign clear_a = clear_i;
[%- endif %]
