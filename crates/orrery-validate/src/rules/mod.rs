//! One file per rule. A rule file holds its `RULE` value and its check function; its user
//! documentation is `docs/rules/CODE.md`, whose examples the tests run.

use crate::Rule;

mod deprecated_image;
mod hardcoded_credential;
mod invalid_filter_regex;
mod unpinned_image;
mod unused_command;
mod unused_executor;
mod unused_job;
mod unused_orb;
mod unused_parameter;

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
];
