"""Registries: districts → streets → grids, grid officers, enterprises, confined spaces; bulk import."""
