"""UI state: one State per concern, all built on AuthState's token handling."""
