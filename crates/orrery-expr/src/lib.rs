//! Orrery's implementation of CircleCI's expression language (CONFIG-SPEC
//! Appendix A) and of the `<< >>` template syntax (CONFIG-SPEC 2.4).
//!
//! Pure functions only: no I/O, and no panics on any input.

pub mod expr;
pub mod template;
