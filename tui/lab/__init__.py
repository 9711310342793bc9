"""The game-day lab: real servers on loopback, a stand-in API with load, the Kubernetes API simulator, faults
to plant and heal, and the drill that checks the console names each fault's cause."""
