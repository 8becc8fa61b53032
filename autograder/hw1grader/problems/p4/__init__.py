"""Problem 4, the FashionMNIST classifier in PyTorch: q4_model, q4_curves, q4_accuracy, q4_predict_proba."""
