//! Workspace facade.
