"""Access control: users, roles and scopes, password and bearer-token authentication, login throttling."""
