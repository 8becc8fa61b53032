"""Problem 5: to come."""
