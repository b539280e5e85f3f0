"""Pure allocation for the elective course supermarket (no Django)."""
