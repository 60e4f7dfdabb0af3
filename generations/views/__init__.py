"""Member pages, one module per page: gallery, submit, generation, usage, tokens, teams, and accounts."""
