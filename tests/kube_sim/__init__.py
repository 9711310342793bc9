"""The pytest fixtures that start the Kubernetes API simulator (which ships in `tui/lab/kube_sim`)."""
