//! The integration test binary: each module exercises the tool as a user would.

mod suite;
