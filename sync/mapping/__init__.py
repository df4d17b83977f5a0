"""Field mapping: default mappings as data, the mapping file, validation against both schemas,
and the value transforms (pure functions) between Dynamics columns and Marketo fields."""
