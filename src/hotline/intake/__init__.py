"""Public reports of web addresses."""
