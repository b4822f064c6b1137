//! VPC isolation across OVN interconnection (issue #6; being built).
