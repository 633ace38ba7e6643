"""Online-safety advice for parents and carers."""
