//! Node identity and certificates: placeholder, being built.
