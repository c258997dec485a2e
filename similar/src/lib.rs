//! Find similar (找类似): placeholder, being built.
