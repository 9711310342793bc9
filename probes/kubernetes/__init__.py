"""Kubernetes: the client and its errors, the pod informer and cache, row models, the probe, kubectl-style
printing, Helm history and JSONPath."""
