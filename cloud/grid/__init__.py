"""Grid supervision (网格化监管): officers bound to grids with a role, and the balance of load per officer."""
