[#- An instance's connections in columns (rtl::align::conns): the caller
    sets `conns` and `ind` (the instance's indentation). #]
[%- for c in conns %]
[[ ind ]]  .[[ c.port ]] ([[ c.signal ]])[% if !loop.last %],[% endif %]
[%- endfor %]
