"""Reading the input: grants from CSV or Excel (headers, rows, values), closing prices."""
