//! `orrery run`: runs a compiled CircleCI workflow locally.
//!
//! [`plan()`] is the pure core: the compiled config and its job graph plus a [`Selection`] (workflow,
//! jobs, branch or tag) in, the jobs to run in graph order with their requirements out, and
//! diagnostics. [`schedule::run_plan`] runs a plan's jobs as their requirements allow, up to a
//! number at once. [`run::execute`] ties a plan to an [`Executor`] and writes the per-run folder.
//! The machine executor ([`machine::MachineExecutor`]) runs steps on the host, the Docker
//! executor ([`docker::DockerExecutor`]) in containers; both implement [`executor::JobEnv`], and
//! [`executor::ByKind`] sends each job to the one its executor names.

pub mod agent;
pub mod archive;
pub mod cache;
pub mod cgroup;
pub mod checkout;
pub mod docker;
pub mod duration;
pub mod env;
pub mod executor;
pub mod filters;
pub mod forward;
pub mod glob;
mod job;
pub mod junit;
pub mod keys;
pub mod machine;
pub mod mask;
pub mod plan;
pub mod resources;
pub mod run;
pub mod schedule;
pub mod secrets;
pub mod services;
pub mod spec;
pub mod split;
pub mod store;
pub mod swarm;
pub mod sweep;

pub use executor::{Executor, JobEnv};
pub use filters::GitRef;
pub use plan::{plan, JobKind, Plan, PlannedJob, Selection, Status};
