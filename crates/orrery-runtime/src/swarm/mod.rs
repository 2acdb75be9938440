//! Docker Swarm: `orrery run --engine swarm` runs docker job nodes as swarm services
//! ([`SwarmOptions`], `engine.rs`; the services' specs in `spec.rs`), and `orrery swarm gc`
//! removes what runs left. Every object a run creates (services, networks, secrets) carries the
//! label `orrery.run=<run id>`, and each node's also `orrery.node`.

mod engine;
mod gc;
pub mod spec;

pub use engine::SwarmOptions;
pub(crate) use engine::{SwarmEngine, SwarmRunner};
pub use gc::{gc, Removed};
pub use spec::check_constraint;
