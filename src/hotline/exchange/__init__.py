"""The signed exchange between partner hotlines (one `hotline` instance to another)."""
