"""Problem 1, vector calculus: q1_grad (the gradient of ||x||^2) and q1_mu (the minimising mean)."""
