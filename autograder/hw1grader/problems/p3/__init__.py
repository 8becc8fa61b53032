"""Problem 3, a 4-unit ReLU network by hand: q3a_1 and q3a_2 (fits), q3b (the loss gradient), q3c
(the forward pass at x = 2) and q3d (the backward pass there)."""
