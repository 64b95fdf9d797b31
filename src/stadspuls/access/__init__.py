"""Who may do what: accounts, roles, sessions, API tokens and the second factor."""
