"""HTTP plumbing of the app: error rendering and request body limits."""
