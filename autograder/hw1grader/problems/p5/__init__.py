"""Problem 5, backpropagation by hand in NumPy: q5_affine_backward, q5_sigmoid_backward, q5_softmax_ce,
q5_network_backward and q5_training."""
