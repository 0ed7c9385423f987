[#- The accumulator shared by the PE and the dot unit: the caller sets
    `acc_src` (the signal stem: `<acc_src>_b` enters, sign-extended as
    `<acc_src>_ext`), `acc_width` (its width parameter) and `drain` (the
    systolic drain path). #]

  // Accumulator.
  wire [AccBits-1:0] [[ acc_src ]]_ext = {{(AccBits-[[ acc_width ]]+1){[[ acc_src ]]_b[ [[- acc_width ]]-1]}}, [[ acc_src ]]_b[ [[- acc_width ]]-2:0]};
  reg  [AccBits-1:0] acc_d;
  reg  [AccBits-1:0] acc_q;
  always @(*) begin
[%- if drain %]
    if (drain_i) begin
      acc_d = drain_acc_i;
    end else if (valid_b) begin
[%- else %]
    if (valid_b) begin
[%- endif %]
      acc_d = clear_b ? [[ acc_src ]]_ext : acc_q + [[ acc_src ]]_ext;
    end else if (clear_b) begin
      acc_d = {AccBits{1'b0}};
    end else begin
      acc_d = acc_q;
    end
  end
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      acc_q <= {AccBits{1'b0}};
    end else begin
      acc_q <= acc_d;
    end
  end
  assign acc_o = acc_q;
