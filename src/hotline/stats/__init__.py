"""Statistics: time-to-removal figures and their charts."""
