"""An example maskcheck plugin: a rule (rules.py) and a reporter (csv_report.py)."""
