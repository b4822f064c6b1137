//! ovn-ic as a library and a daemon (issue #5; being built).
