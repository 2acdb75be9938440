//! Docker Swarm: what `orrery run --engine swarm` leaves on a cluster, and its removal. Every
//! object a run creates (services, networks, secrets) carries the label `orrery.run=<run id>`.

mod gc;

pub use gc::{gc, Removed};
