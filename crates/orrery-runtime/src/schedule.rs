//! Runs a plan: a job starts as soon as every requirement reached an accepted end state; parallel
//! nodes of ready jobs run up to `max_parallel` at once; a requirement ending in a state it does
//! not accept makes the job `not_run`; approval jobs ask an [`Approver`]; no-op jobs succeed at
//! once; a lock job waits while another job of the run holds its key, an unlock job frees it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::plan::{JobKind, Plan, PlannedJob, Status};

/// Runs one parallel node of one job and says how it ended.
pub trait NodeRunner: Sync {
    fn run_node(&self, job: usize, node: u32) -> Status;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Deny,
    /// Nobody decided: the job stays on hold and its dependents wait (and do not run).
    Hold,
}

pub trait Approver {
    fn decide(&self, job: &PlannedJob) -> Decision;
}

/// Approvals given up front (`--approve NAME`, `--approve all`).
pub struct ApprovedNames(pub Vec<String>);

impl Approver for ApprovedNames {
    fn decide(&self, job: &PlannedJob) -> Decision {
        if self.0.iter().any(|n| n == "all" || *n == job.name) {
            Decision::Approve
        } else {
            Decision::Hold
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ScheduleEvent {
    JobStarted {
        job: usize,
    },
    JobFinished {
        job: usize,
        status: Status,
        duration: Duration,
    },
    Approval {
        job: usize,
        decision: Decision,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct JobResult {
    pub status: Status,
    pub duration: Duration,
    /// False for jobs that never started (not run, on hold, canceled before start).
    pub ran: bool,
}

enum State {
    Waiting,
    Running {
        started: Instant,
        left: u32,
        statuses: Vec<Status>,
    },
    Done(JobResult),
}

/// Runs every job of `plan`; returns one result per job, in plan order.
pub fn run_plan(
    plan: &Plan,
    max_parallel: usize,
    runner: &dyn NodeRunner,
    approver: &dyn Approver,
    cancel: &AtomicBool,
    on_event: &(dyn Fn(ScheduleEvent) + Sync),
) -> Vec<JobResult> {
    let max_parallel = max_parallel.max(1);
    let mut states: Vec<State> = plan.jobs.iter().map(|_| State::Waiting).collect();
    let mut queue: VecDeque<(usize, u32)> = VecDeque::new();
    // Serial-group key → the lock job holding it.
    let mut held: HashMap<&str, usize> = HashMap::new();
    let (tx, rx) = mpsc::channel::<(usize, Status)>();
    std::thread::scope(|scope| {
        let mut running = 0usize;
        loop {
            let canceled = cancel.load(Ordering::SeqCst);
            // Settle every waiting job whose requirements all ended.
            let mut progress = true;
            while progress {
                progress = false;
                for j in 0..plan.jobs.len() {
                    if !matches!(states[j], State::Waiting) {
                        continue;
                    }
                    let job = &plan.jobs[j];
                    let mut ready = true;
                    let mut blocked = false;
                    for d in &job.requires {
                        match &states[d.job] {
                            State::Done(r) if r.status == Status::OnHold => ready = false,
                            State::Done(r) => blocked |= !d.accepted.contains(&r.status),
                            _ => ready = false,
                        }
                    }
                    if let JobKind::Lock { key } = &job.kind {
                        ready &= blocked || canceled || !held.contains_key(key.as_str());
                    }
                    if !ready {
                        continue;
                    }
                    progress = true;
                    let finish = |status| {
                        State::Done(JobResult {
                            status,
                            duration: Duration::ZERO,
                            ran: false,
                        })
                    };
                    if blocked {
                        states[j] = finish(Status::NotRun);
                        continue;
                    }
                    if canceled {
                        states[j] = finish(Status::Canceled);
                        continue;
                    }
                    // A job that runs nothing is reported as started and finished at once.
                    let instant = |status| {
                        on_event(ScheduleEvent::JobStarted { job: j });
                        on_event(ScheduleEvent::JobFinished {
                            job: j,
                            status,
                            duration: Duration::ZERO,
                        });
                        State::Done(JobResult {
                            status,
                            duration: Duration::ZERO,
                            ran: true,
                        })
                    };
                    match &job.kind {
                        JobKind::NoOp => states[j] = instant(Status::Success),
                        JobKind::Lock { key } => {
                            held.insert(key, j);
                            states[j] = instant(Status::Success);
                        }
                        JobKind::Unlock { key } => {
                            held.remove(key.as_str());
                            states[j] = instant(Status::Success);
                        }
                        JobKind::Approval => {
                            let decision = approver.decide(job);
                            on_event(ScheduleEvent::Approval { job: j, decision });
                            states[j] = finish(match decision {
                                Decision::Approve => Status::Success,
                                Decision::Deny => Status::Canceled,
                                Decision::Hold => Status::OnHold,
                            });
                        }
                        JobKind::Run(_) => {
                            on_event(ScheduleEvent::JobStarted { job: j });
                            let nodes = job.nodes();
                            states[j] = State::Running {
                                started: Instant::now(),
                                left: nodes,
                                statuses: Vec::new(),
                            };
                            queue.extend((0..nodes).map(|n| (j, n)));
                        }
                    }
                }
            }
            // Start nodes while there is room.
            while running < max_parallel {
                let Some((j, node)) = queue.pop_front() else {
                    break;
                };
                let tx = tx.clone();
                running += 1;
                scope.spawn(move || {
                    let status = if cancel.load(Ordering::SeqCst) {
                        Status::Canceled
                    } else {
                        runner.run_node(j, node)
                    };
                    let _ = tx.send((j, status));
                });
            }
            if running == 0 {
                break;
            }
            let Ok((j, status)) = rx.recv() else {
                break;
            };
            running -= 1;
            if let State::Running {
                started,
                left,
                statuses,
            } = &mut states[j]
            {
                statuses.push(status);
                *left -= 1;
                if *left == 0 {
                    let status = job_status(statuses);
                    let duration = started.elapsed();
                    on_event(ScheduleEvent::JobFinished {
                        job: j,
                        status,
                        duration,
                    });
                    states[j] = State::Done(JobResult {
                        status,
                        duration,
                        ran: true,
                    });
                }
            }
        }
    });
    states
        .into_iter()
        .map(|s| match s {
            State::Done(r) => r,
            // Still waiting: behind an approval on hold.
            _ => JobResult {
                status: Status::NotRun,
                duration: Duration::ZERO,
                ran: false,
            },
        })
        .collect()
}

/// A job with parallel nodes fails when any node fails.
fn job_status(nodes: &[Status]) -> Status {
    for s in [Status::Canceled, Status::Unauthorized, Status::Failed] {
        if nodes.contains(&s) {
            return s;
        }
    }
    Status::Success
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Dependency;
    use crate::spec::{ExecutorKind, JobSpec};
    use std::sync::Mutex;

    fn job(name: &str, requires: Vec<Dependency>, parallelism: u32) -> PlannedJob {
        PlannedJob {
            workflow: "w".into(),
            name: name.into(),
            kind: JobKind::Run(JobSpec {
                name: name.into(),
                executor: ExecutorKind::Machine,
                shell: None,
                working_directory: "~/project".into(),
                environment: Vec::new(),
                parallelism,
                steps: Vec::new(),
                resource_class: None,
            }),
            requires,
            contexts: Vec::new(),
        }
    }

    fn dep(job: usize, accepted: &[Status]) -> Dependency {
        Dependency {
            job,
            accepted: accepted.to_vec(),
        }
    }

    struct Scripted {
        fail: Vec<&'static str>,
        plan: Plan,
        log: Mutex<Vec<(String, u32)>>,
    }

    impl NodeRunner for Scripted {
        fn run_node(&self, job: usize, node: u32) -> Status {
            let name = &self.plan.jobs[job].name;
            self.log.lock().unwrap().push((name.clone(), node));
            std::thread::sleep(Duration::from_millis(20));
            if self.fail.contains(&name.as_str()) {
                Status::Failed
            } else {
                Status::Success
            }
        }
    }

    fn run(
        plan: Plan,
        fail: Vec<&'static str>,
        approved: &[&str],
    ) -> (Vec<JobResult>, Vec<(String, u32)>) {
        let runner = Scripted {
            fail,
            plan: plan.clone(),
            log: Mutex::new(Vec::new()),
        };
        let approver = ApprovedNames(approved.iter().map(|s| s.to_string()).collect());
        let results = run_plan(
            &plan,
            4,
            &runner,
            &approver,
            &AtomicBool::new(false),
            &|_| {},
        );
        (results, runner.log.into_inner().unwrap())
    }

    #[test]
    fn failure_blocks_dependents_and_status_lists_accept_it() {
        let plan = Plan {
            workflows: vec!["w".into()],
            jobs: vec![
                job("build", vec![], 1),
                job("test", vec![dep(0, &[Status::Success])], 2),
                job("deploy", vec![dep(1, &[Status::Success])], 1),
                job("rollback", vec![dep(1, &[Status::Failed])], 1),
            ],
            filtered: Vec::new(),
        };
        let (results, log) = run(plan, vec!["test"], &[]);
        let statuses: Vec<Status> = results.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [
                Status::Success,
                Status::Failed,
                Status::NotRun,
                Status::Success
            ]
        );
        let test_nodes: Vec<u32> = log
            .iter()
            .filter(|(n, _)| n == "test")
            .map(|(_, i)| *i)
            .collect();
        assert_eq!(test_nodes.len(), 2);
        assert!(!log.iter().any(|(n, _)| n == "deploy"));
    }

    #[test]
    fn approvals_hold_or_release() {
        let mut approval = job("hold", vec![dep(0, &[Status::Success])], 1);
        approval.kind = JobKind::Approval;
        let plan = Plan {
            workflows: vec!["w".into()],
            jobs: vec![
                job("build", vec![], 1),
                approval,
                job("deploy", vec![dep(1, &[Status::Success])], 1),
            ],
            filtered: Vec::new(),
        };
        let (held, log) = run(plan.clone(), vec![], &[]);
        assert_eq!(held[1].status, Status::OnHold);
        assert_eq!(held[2].status, Status::NotRun);
        assert_eq!(log.len(), 1);
        let (approved, log) = run(plan, vec![], &["hold"]);
        assert_eq!(approved[2].status, Status::Success);
        assert_eq!(log.len(), 2);
    }

    #[test]
    fn a_lock_waits_for_the_unlock_of_its_key_and_no_ops_pass_through() {
        let of = |name: &str, kind: JobKind, requires| {
            let mut j = job(name, requires, 1);
            j.kind = kind;
            j
        };
        let key = || "deploys".to_string();
        let terminal = [
            Status::Success,
            Status::Failed,
            Status::Canceled,
            Status::Unauthorized,
            Status::NotRun,
        ];
        let plan = Plan {
            workflows: vec!["w".into()],
            jobs: vec![
                of("a-lock", JobKind::Lock { key: key() }, vec![]),
                job("a-work", vec![dep(0, &[Status::Success])], 1),
                of(
                    "a-unlock",
                    JobKind::Unlock { key: key() },
                    vec![dep(1, &terminal)],
                ),
                of("b-lock", JobKind::Lock { key: key() }, vec![]),
                job("b-work", vec![dep(3, &[Status::Success])], 1),
                of(
                    "b-unlock",
                    JobKind::Unlock { key: key() },
                    vec![dep(4, &terminal)],
                ),
                of("end", JobKind::NoOp, vec![dep(1, &[Status::Success])]),
            ],
            filtered: Vec::new(),
        };
        // a-work fails: its unlock still frees the key, so b runs, but only after a-work ended.
        let runner = Scripted {
            fail: vec!["a-work"],
            plan: plan.clone(),
            log: Mutex::new(Vec::new()),
        };
        let events = Mutex::new(Vec::new());
        let results = run_plan(
            &plan,
            4,
            &runner,
            &ApprovedNames(Vec::new()),
            &AtomicBool::new(false),
            &|e| events.lock().unwrap().push(e),
        );
        let statuses: Vec<Status> = results.iter().map(|r| r.status).collect();
        use Status::*;
        assert_eq!(
            statuses,
            [Success, Failed, Success, Success, Success, Success, NotRun]
        );
        let events = events.into_inner().unwrap();
        let at = |wanted: &dyn Fn(&ScheduleEvent) -> bool| events.iter().position(wanted).unwrap();
        let a_work_ended = at(&|e| matches!(e, ScheduleEvent::JobFinished { job: 1, .. }));
        let b_locked = at(&|e| matches!(e, ScheduleEvent::JobStarted { job: 3 }));
        assert!(b_locked > a_work_ended, "{events:?}");
    }
}
