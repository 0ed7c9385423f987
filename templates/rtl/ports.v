[#- A module's port list in columns (rtl::align::ports): the caller sets
    `ports`. #]
[%- for p in ports %]
  [[ p.head ]][[ p.name ]][[ p.comment ]]
[%- endfor %]
