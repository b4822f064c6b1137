//! Embedded in-memory OVSDB server (issue #7; being built).
