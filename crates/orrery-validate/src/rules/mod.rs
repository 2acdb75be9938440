//! One file per rule. A rule file holds its `RULE` value and its check function; its user
//! documentation is `docs/rules/CODE.md`, whose examples the tests run.

use crate::Rule;

mod attach_without_persist;
mod checksum_missing_file;
mod deprecated_image;
mod hardcoded_credential;
mod invalid_cron;
mod invalid_filter_regex;
mod matrix_name_collision;
mod restore_key_never_saved;
mod shellcheck;
mod unpinned_image;
mod unreachable_job;
mod unused_command;
mod unused_executor;
mod unused_job;
mod unused_orb;
mod unused_parameter;
mod unused_pipeline_parameter;

/// Every rule, in code order.
pub(crate) const ALL: &[Rule] = &[
    unused_job::RULE,
    unused_command::RULE,
    unused_executor::RULE,
    unused_orb::RULE,
    unused_parameter::RULE,
    deprecated_image::RULE,
    unpinned_image::RULE,
    hardcoded_credential::RULE,
    invalid_filter_regex::RULE,
    invalid_cron::RULE,
    unreachable_job::RULE,
    matrix_name_collision::RULE,
    attach_without_persist::RULE,
    restore_key_never_saved::RULE,
    checksum_missing_file::RULE,
    unused_pipeline_parameter::RULE,
    shellcheck::RULE,
];
