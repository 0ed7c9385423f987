[#- Elaboration-time checks of a module's parameters: the caller sets
    `guards` (rtl::params). An out-of-range value instantiates a module that
    does not exist and whose name states the rule. #]

  // Parameter checks: a value out of range instantiates a module that does
  // not exist, so elaboration stops with the rule as the missing name.
  generate
[%- for g in guards %]
    if ([[ g.name ]] < [[ g.min ]] || [[ g.name ]] > [[ g.max ]]) begin : [[ g.block() ]]
      [[ g.guard_module() ]] u_param_error ();
    end
[%- endfor %]
  endgenerate
