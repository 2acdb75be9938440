; Keys, scalars and comments of the YAML grammar; the language server adds semantic tokens.
(comment) @comment

(block_mapping_pair
  key: (flow_node (plain_scalar) @property))
(flow_pair
  key: (flow_node (plain_scalar) @property))

[
  (double_quote_scalar)
  (single_quote_scalar)
  (block_scalar)
] @string

[
  (integer_scalar)
  (float_scalar)
] @number

(boolean_scalar) @boolean
(null_scalar) @constant

[
  (anchor_name)
  (alias_name)
] @label

["-" ":" "," "[" "]" "{" "}"] @punctuation.delimiter
