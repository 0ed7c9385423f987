[#- Stage B and the accumulator, shared by the PE and the dot unit: the
    caller sets `acc_src` (the signal stem: `<acc_src>_a` is computed in
    stage A, registered as `<acc_src>_b_q` with pipeline >= 1, and
    sign-extended as `<acc_src>_ext`), `acc_width` (its width parameter),
    `stage_what` (what stage B registers, for its comment). Without plan.datapath_reset the sum's register
    has no reset (valid_b_q says whether it holds anything). #]

  // Stage B: [% if plan.stage_b() %]the [[ stage_what ]] is registered (pipeline >= 1).[% else %]no register (pipeline 0).[% endif %]
[%- if plan.stage_b() %]
[%- let range = format!("[{}-1:0]", acc_width) %]
  reg  [[ range ]] [[ acc_src ]]_b_q;
  reg  [% for _ in 0..range.len() %] [% endfor %] valid_b_q;
  reg  [% for _ in 0..range.len() %] [% endfor %] clear_b_q;
[%- if !plan.datapath_reset %]
  always @(posedge clk_i) begin  // datapath: no reset
    [[ acc_src ]]_b_q <= [[ acc_src ]]_a;
  end
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_b_q <= 1'b0;
      clear_b_q <= 1'b0;
    end else begin
      valid_b_q <= [[ plan.ctl_a("valid") ]];
      clear_b_q <= [[ plan.ctl_a("clear") ]];
    end
  end
[%- else %]
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      [[ acc_src ]]_b_q[% for _ in acc_src.len()..5 %] [% endfor %] <= {[[ acc_width ]]{1'b0}};
      valid_b_q <= 1'b0;
      clear_b_q <= 1'b0;
    end else begin
      [[ acc_src ]]_b_q[% for _ in acc_src.len()..5 %] [% endfor %] <= [[ acc_src ]]_a;
      valid_b_q <= [[ plan.ctl_a("valid") ]];
      clear_b_q <= [[ plan.ctl_a("clear") ]];
    end
  end
[%- endif %]
[%- endif %]
[%- let src_b = plan.sum_b(acc_src) %]
[%- let valid_b = plan.ctl_b("valid") %]
[%- let clear_b = plan.ctl_b("clear") %]

  // Accumulator.
  wire [AccBits-1:0] [[ acc_src ]]_ext = {{(AccBits-[[ acc_width ]]+1){[[ src_b ]][ [[- acc_width ]]-1]}}, [[ src_b ]][ [[- acc_width ]]-2:0]};
  reg  [AccBits-1:0] acc_d;
  reg  [AccBits-1:0] acc_q;
  always @(*) begin
    if ([[ valid_b ]]) begin
      acc_d = [[ clear_b ]] ? [[ acc_src ]]_ext : acc_q + [[ acc_src ]]_ext;
    end else if ([[ clear_b ]]) begin
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
