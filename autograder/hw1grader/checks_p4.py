"""Problem 4: to come."""
