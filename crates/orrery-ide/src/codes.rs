//! What an editor should know about a diagnostic code beyond its text.

use orrery_diagnostics::codes;

/// How an editor may draw a finding (LSP's `DiagnosticTag`, without the protocol).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeTag {
    /// The text is unused: editors fade it.
    Unnecessary,
    /// The text uses something deprecated: editors strike it through.
    Deprecated,
}

/// The tags of findings with `code`.
pub fn code_tags(code: &str) -> &'static [CodeTag] {
    const UNNECESSARY: &[&str] = &[
        codes::UNUSED_JOB,
        codes::UNUSED_COMMAND,
        codes::UNUSED_EXECUTOR,
        codes::UNUSED_ORB,
        codes::UNUSED_PARAMETER,
        codes::UNUSED_PIPELINE_PARAMETER,
        codes::UNUSED_ANCHOR,
        codes::UNREACHABLE_JOB,
        codes::SCHEMA_IGNORED_KEY,
    ];
    const DEPRECATED: &[&str] = &[
        codes::DEPRECATED_IMAGE,
        codes::WORKFLOWS_VERSION_KEY,
        codes::MACHINE_TRUE,
        codes::DEPLOY_STEP,
        codes::JOB_LEVEL_BRANCHES,
    ];
    if UNNECESSARY.contains(&code) {
        &[CodeTag::Unnecessary]
    } else if DEPRECATED.contains(&code) {
        &[CodeTag::Deprecated]
    } else {
        &[]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unused_and_deprecated_codes_are_tagged() {
        assert_eq!(code_tags("L1001"), &[CodeTag::Unnecessary]);
        assert_eq!(code_tags("L1101"), &[CodeTag::Deprecated]);
        assert!(code_tags("E0402").is_empty());
    }
}
