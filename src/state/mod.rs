//! `cluster.rkestate`: RKE1-compatible JSON (`desiredState` / `currentState`), written atomically.
