//! One file per rule. A rule file holds its `RULE` value and its check function; its user
//! documentation is `docs/rules/CODE.md`, whose examples the tests run.

use crate::Rule;

mod approval_entry_shadows_job;
mod attach_without_persist;
mod cache_key_too_long;
mod checksum_missing_file;
mod deploy_step;
mod deprecated_image;
mod empty_section;
mod env_var_in_condition;
mod explicit_build_type;
mod glob_in_cache_path;
mod hardcoded_credential;
mod image_on_self_hosted_runner;
mod incomplete_docker_auth;
mod ineffective_parallelism;
mod invalid_auto_rerun;
mod invalid_cache_retention;
mod invalid_checkout_options;
mod invalid_cron;
mod invalid_env_var_name;
mod invalid_filter_regex;
mod invalid_image_digest;
mod invalid_job_type;
mod invalid_requires_status;
mod invalid_run_when;
mod invalid_serial_group;
mod job_level_branches;
mod key_needs_newer_version;
mod machine_true;
mod macos_without_xcode;
mod matrix_name_collision;
mod missing_executor;
mod multiple_executor_types;
mod name_shared_across_kinds;
mod remote_docker_on_machine;
mod requires_all_terminal_statuses;
mod reserved_parameter_name;
mod restore_key_never_saved;
pub(crate) mod shellcheck;
mod steps_in_non_build_job;
mod template_in_condition_expression;
mod test_job_without_test_results;
mod unpinned_image;
mod unreachable_job;
mod unused_anchor;
mod unused_command;
mod unused_executor;
mod unused_job;
mod unused_job_group;
mod unused_orb;
mod unused_parameter;
mod unused_pipeline_parameter;
mod when_and_unless;
mod workflows_version_key;

/// Every rule, in code order.
pub(crate) const ALL: &[Rule] = &[
    unused_job::RULE,
    unused_job_group::RULE,
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
    workflows_version_key::RULE,
    machine_true::RULE,
    deploy_step::RULE,
    job_level_branches::RULE,
    explicit_build_type::RULE,
    empty_section::RULE,
    name_shared_across_kinds::RULE,
    unused_anchor::RULE,
    key_needs_newer_version::RULE,
    ineffective_parallelism::RULE,
    steps_in_non_build_job::RULE,
    test_job_without_test_results::RULE,
    invalid_run_when::RULE,
    invalid_auto_rerun::RULE,
    invalid_checkout_options::RULE,
    remote_docker_on_machine::RULE,
    glob_in_cache_path::RULE,
    cache_key_too_long::RULE,
    invalid_cache_retention::RULE,
    invalid_env_var_name::RULE,
    incomplete_docker_auth::RULE,
    macos_without_xcode::RULE,
    invalid_job_type::RULE,
    invalid_image_digest::RULE,
    image_on_self_hosted_runner::RULE,
    reserved_parameter_name::RULE,
    multiple_executor_types::RULE,
    missing_executor::RULE,
    requires_all_terminal_statuses::RULE,
    invalid_requires_status::RULE,
    env_var_in_condition::RULE,
    template_in_condition_expression::RULE,
    invalid_serial_group::RULE,
    approval_entry_shadows_job::RULE,
    when_and_unless::RULE,
];
