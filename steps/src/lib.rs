//! One module per step. Each reads the host, returns its changes as data, and verifies.
