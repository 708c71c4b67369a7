"""Plans: what would change in a target, and in which order."""
