"""Problem 2, regression with the l1 loss: q2_l1_loss."""
