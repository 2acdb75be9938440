//! The compiler's limits (`orrery_yaml::Limits`): jobs per workflow and the compiled size.
//! Each is checked on both sides of its bound, and a refusal names the limit it hit.

use orrery_compiler::{compile, CompileOptions, Compiled, NoOrbs};
use orrery_diagnostics::{codes, SourceDb};
use orrery_yaml::Limits;

fn compile_with(text: &str, limits: Limits) -> Compiled {
    let mut db = SourceDb::new();
    let file = db.add("config.yml", text.to_string());
    let options = CompileOptions {
        limits,
        ..CompileOptions::default()
    };
    compile(&mut db, file, &options, &NoOrbs)
}

fn messages(compiled: &Compiled) -> Vec<String> {
    compiled
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect()
}

/// A workflow of `entries` matrix entries of job `t`, each of `per_entry` instances with their
/// own values (so no two jobs share a name).
fn matrix_workflow(entries: usize, per_entry: usize) -> String {
    let mut text = String::from(
        "version: 2.1\njobs:\n  t:\n    parameters:\n      p: {type: integer, default: 0}\n    \
         docker: [{image: cimg/base:stable}]\n    steps: [checkout]\nworkflows:\n  w:\n    jobs:\n",
    );
    for entry in 0..entries {
        let values: Vec<String> = (entry * per_entry..(entry + 1) * per_entry)
            .map(|v| v.to_string())
            .collect();
        text.push_str(&format!(
            "      - t:\n          matrix:\n            parameters:\n              p: [{}]\n",
            values.join(", ")
        ));
    }
    text
}

#[test]
fn a_workflow_of_2000_jobs_compiles_and_one_more_is_refused() {
    assert_eq!(Limits::default().max_workflow_jobs, 2_000);
    let at_limit = compile_with(&matrix_workflow(2, 1_000), Limits::default());
    assert!(at_limit.config.is_some(), "{:?}", messages(&at_limit));
    let graph = at_limit.graph.expect("graph");
    assert_eq!(graph.workflows[0].jobs.len(), 2_000);

    let mut text = matrix_workflow(2, 1_000);
    text.push_str("      - t:\n          name: one-more\n");
    let over = compile_with(&text, Limits::default());
    assert!(over.config.is_none());
    let limit_errors: Vec<_> = over
        .diagnostics
        .iter()
        .filter(|d| d.code == codes::YAML_LIMIT)
        .collect();
    assert_eq!(limit_errors.len(), 1, "{:?}", messages(&over));
    assert_eq!(
        limit_errors[0].message,
        "workflow `w` has more than 2000 jobs (the limit of jobs per workflow)"
    );
    // It points at the entry that went past the limit.
    let primary = limit_errors[0].primary.as_ref().expect("located");
    let (start, end) = (primary.span.start as usize, primary.span.end as usize);
    assert!(text[..start].ends_with("      - "));
    assert_eq!(&text[start..end], "t:\n          name: one-more\n");
}

#[test]
fn a_config_compiled_past_the_size_limit_is_refused_naming_the_limit() {
    assert_eq!(Limits::default().max_compiled_nodes, 5_000_000);
    // Commands expand to far more than the text: 3 jobs × 4 calls × 8 steps.
    let text = "version: 2.1\ncommands:\n  eight:\n    steps:\n".to_string()
        + &"      - run: echo step\n".repeat(8)
        + "jobs:\n"
        + &(0..3)
            .map(|j| {
                format!(
                    "  j{j}:\n    docker: [{{image: cimg/base:stable}}]\n    steps: [eight, eight, eight, eight]\n"
                )
            })
            .collect::<String>()
        + "workflows:\n  w:\n    jobs: [j0, j1, j2]\n";
    let full = compile_with(&text, Limits::default());
    let size = full.config.as_ref().expect("compiles").size();
    assert!(size > 3 * 4 * 8 * 4, "{size}");

    let at_limit = compile_with(
        &text,
        Limits {
            max_compiled_nodes: size,
            ..Limits::default()
        },
    );
    assert!(at_limit.config.is_some(), "{:?}", messages(&at_limit));

    let over = compile_with(
        &text,
        Limits {
            max_compiled_nodes: size - 1,
            ..Limits::default()
        },
    );
    assert!(over.config.is_none() && over.graph.is_none());
    assert_eq!(
        messages(&over),
        [format!(
            "{} the compiled config has {size} nodes, more than the limit of {} (the compiled-size limit)",
            codes::YAML_LIMIT,
            size - 1
        )]
    );
}
