//! CircleCI's docker resource classes as CPU and memory (CircleCI's configuration reference,
//! "resource_class", docker executor table; arm classes from the Arm table).

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// Thousandths of a CPU.
    pub millicpu: u32,
    pub memory_mb: u32,
    /// Whether the class runs on arm64 nodes.
    pub arm: bool,
}

pub const DEFAULT_CLASS: &str = "medium";

/// (class, CPUs × 1000, memory in MiB, arm)
const CLASSES: &[(&str, u32, u32, bool)] = &[
    ("small", 1000, 2048, false),
    ("medium", 2000, 4096, false),
    ("medium+", 3000, 6144, false),
    ("large", 4000, 8192, false),
    ("xlarge", 8000, 16384, false),
    ("2xlarge", 16000, 32768, false),
    ("2xlarge+", 20000, 40960, false),
    ("arm.medium", 2000, 8192, true),
    ("arm.large", 4000, 16384, true),
    ("arm.xlarge", 8000, 32768, true),
    ("arm.2xlarge", 16000, 65536, true),
];

pub fn of(class: &str) -> Option<Resources> {
    CLASSES
        .iter()
        .find(|(name, ..)| *name == class)
        .map(|&(_, millicpu, memory_mb, arm)| Resources {
            millicpu,
            memory_mb,
            arm,
        })
}
