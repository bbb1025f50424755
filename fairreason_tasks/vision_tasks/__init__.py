"""lmms-eval task folders (YAML + thin utils.py): the vision tasks, in a root of their own so that
lm-eval, which cannot run them, never lists them (`fairreason tasks-path --harness lmms`)."""
