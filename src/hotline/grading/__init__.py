"""Image grading: the grade model, jurisdiction rules held as data, N-person verification and
grader agreement. Pure domain: storage and pages build on it."""
