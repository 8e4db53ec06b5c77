"""Parameterised SQL, one module per aggregate. Nothing here imports from above `solo.db`."""
