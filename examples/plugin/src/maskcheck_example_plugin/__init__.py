"""An example maskcheck plugin (see rules.py)."""
