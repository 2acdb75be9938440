//! `orrery export` over the shared corpus: every config that `orrery run --dry-run` can plan
//! is exported to each target, and the exports are checked offline by the engines' own schemas:
//! Kubernetes Jobs with `kubernetes-validate --strict`, the Argo Workflow with Argo's published
//! JSON schema through `check-jsonschema`, Nomad jobs with the typed model's `validate`, and
//! `plan.json` against the dry-run plan. Each validator runs once over all files, and first on
//! a deliberately broken document it must reject, so the check cannot pass vacuously.
//! Under CI (`CI` set) a missing validator fails the test; elsewhere the test says it skipped.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{orrery, shared, text};

const TARGETS: &[&str] = &["argo", "k8s", "nomad", "plan"];

fn tool(name: &str) -> bool {
    let runs = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        orrery_testkit::missing(
            name,
            &format!(
                "scripts/setup installs it: python3 -m pip install --break-system-packages {name}"
            ),
        );
    }
    runs
}

fn argo_schema(shared: &Path) -> PathBuf {
    shared.join("conformance/engines/argo/workflow.schema.json")
}

/// Runs a validator over files; Ok when it accepts them all.
fn validate(program: &str, args: &[&str], files: &[PathBuf]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}{}", text(&out.stdout), text(&out.stderr)))
    }
}

struct Exported {
    files: Vec<(String, PathBuf)>,
    refused: usize,
    plannable: usize,
}

fn export_corpus(shared: &Path, dir: &Path) -> Exported {
    let mut configs: Vec<PathBuf> = std::fs::read_dir(shared.join("corpus/configs"))
        .expect("corpus configs")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    configs.sort();
    let mut out = Exported {
        files: Vec::new(),
        refused: 0,
        plannable: 0,
    };
    for config in &configs {
        let path = config.to_str().unwrap();
        let stem = config.file_stem().unwrap().to_string_lossy().into_owned();
        let plan = orrery(&["run", "--dry-run", "--branch", "main", "--config", path]);
        if plan.status.code() != Some(0) {
            continue;
        }
        out.plannable += 1;
        let plan_text = text(&plan.stdout);
        let needs_host = ["(machine", "(macos", "(none"]
            .iter()
            .any(|k| plan_text.contains(k));
        for target in TARGETS {
            let file = dir.join(format!("{stem}.{target}"));
            let args = [
                "export",
                "--to",
                target,
                "--branch",
                "main",
                "--config",
                path,
                "--run-name",
                "corpus",
                "-o",
                file.to_str().unwrap(),
            ];
            let exported = orrery(&args);
            if needs_host {
                // Machine and macOS jobs need a host: refused with a located diagnostic, and
                // nothing written.
                assert_eq!(
                    exported.status.code(),
                    Some(1),
                    "{stem} --to {target}: {}",
                    text(&exported.stderr)
                );
                let stderr = text(&exported.stderr);
                assert!(stderr.contains("E0804"), "{stem}: {stderr}");
                assert!(!file.exists(), "{stem}: partial output");
                continue;
            }
            assert_eq!(
                exported.status.code(),
                Some(0),
                "{stem} --to {target} failed:\n{}",
                text(&exported.stderr)
            );
            out.files.push((target.to_string(), file));
        }
        if needs_host {
            out.refused += 1;
        } else {
            check_plan_json(&stem, &plan_text, &dir.join(format!("{stem}.plan")));
        }
    }
    out
}

/// plan.json names the same jobs as the dry run, in order, and every requirement names a job
/// of the plan.
fn check_plan_json(stem: &str, dry_run: &str, file: &Path) {
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).expect("plan.json is JSON");
    let jobs = plan["jobs"].as_array().expect("jobs");
    let planned: Vec<&str> = dry_run
        .lines()
        .filter(|l| l.starts_with("  "))
        .map(|l| l.trim_start().split(" (").next().unwrap_or(""))
        .collect();
    let names: Vec<&str> = jobs.iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(
        names, planned,
        "{stem}: plan.json jobs differ from the dry run"
    );
    let ids: Vec<&str> = jobs.iter().map(|j| j["id"].as_str().unwrap()).collect();
    for job in jobs {
        for r in job["requires"].as_array().unwrap() {
            assert!(ids.contains(&r["job"].as_str().unwrap()), "{stem}: {r}");
        }
    }
}

#[test]
fn corpus_exports_validate_with_the_engines_schemas() {
    let Some(shared) = shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let exported = export_corpus(&shared, dir.path());
    let of = |target: &str| -> Vec<PathBuf> {
        exported
            .files
            .iter()
            .filter(|(t, _)| t == target)
            .map(|(_, f)| f.clone())
            .collect()
    };
    assert!(
        of("k8s").len() >= 15,
        "only {} corpus configs exported ({} plannable, {} refused)",
        of("k8s").len(),
        exported.plannable,
        exported.refused
    );

    // Nomad: the typed model, in process.
    let mut nomad_jobs = 0;
    for file in of("nomad") {
        for line in std::fs::read_to_string(&file).unwrap().lines() {
            let doc: serde_json::Value = serde_json::from_str(line).expect("one job per line");
            let problems = orrery_export::nomad::validate(&doc);
            assert!(problems.is_empty(), "{}: {problems:?}", file.display());
            nomad_jobs += 1;
        }
    }
    assert!(nomad_jobs >= of("nomad").len());

    // Broken controls each validator must reject.
    let broken_k8s = dir.path().join("broken.k8s");
    std::fs::write(
        &broken_k8s,
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  backofLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: main, image: busybox}]\n",
    )
    .unwrap();
    let broken_argo = dir.path().join("broken.argo");
    std::fs::write(
        &broken_argo,
        r#"{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"generateName":"x-"},"spec":{"entrypoint":"main","templates":[{"name":"main","dag":{"tasks":[{"name":"a","template":"a","withSequence":{"count":3}}]}}]}}"#,
    )
    .unwrap();
    let broken_nomad = serde_json::json!({"Job": {"ID": "x", "Type": "batch"}});
    assert!(!orrery_export::nomad::validate(&broken_nomad).is_empty());

    if tool("kubernetes-validate") {
        let strict = ["--strict", "--quiet"];
        assert!(validate("kubernetes-validate", &strict, &[broken_k8s]).is_err());
        if let Err(e) = validate("kubernetes-validate", &strict, &of("k8s")) {
            panic!("kubernetes-validate --strict refused exports:\n{e}");
        }
    }
    if tool("check-jsonschema") {
        let schema = argo_schema(&shared);
        let args = ["--schemafile", schema.to_str().unwrap()];
        assert!(validate("check-jsonschema", &args, &[broken_argo]).is_err());
        if let Err(e) = validate("check-jsonschema", &args, &of("argo")) {
            panic!("Argo's schema refused exports:\n{e}");
        }
    }
    println!(
        "{} plannable corpus configs: {} exported to {} targets, {} refused (machine/macOS jobs)",
        exported.plannable,
        of("k8s").len(),
        TARGETS.len(),
        exported.refused
    );
}

#[test]
fn a_machine_job_is_refused_with_a_located_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        "version: 2.1\njobs:\n  build:\n    machine: true\n    steps: [checkout]\nworkflows:\n  w:\n    jobs: [build]\n",
    )
    .unwrap();
    let out = orrery(&[
        "export",
        "--to",
        "k8s",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("E0804"), "{stderr}");
    assert!(stderr.contains("machine executor"), "{stderr}");
    assert!(stderr.contains("config.yml:4:5"), "{stderr}");
}

/// One config with every mapping (parallelism, services with names, users and environment,
/// resource classes including arm, an approval, a requirement with a status list) against
/// the expected file of each target; `ORRERY_BLESS=1` rewrites them.
#[test]
fn exports_of_the_fixture_match_the_expected_files() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/export");
    for (target, expected) in [
        ("argo", "argo.json"),
        ("k8s", "k8s.yaml"),
        ("nomad", "nomad.jsonl"),
        ("plan", "plan.json"),
    ] {
        let got = export_fixture(target);
        let path = fixtures.join(expected);
        if std::env::var_os("ORRERY_BLESS").is_some() {
            std::fs::write(&path, &got).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(got, want, "{target} differs from {expected}");
    }
}

/// Each node reads a token of its own, where `plan.json` says a driver puts it: every target's
/// manifests, with each node's index put in as the engine would, name exactly the places that
/// `plan.json`'s `tokens` list, one place per node, and each node's id as `nodes` has it.
#[test]
fn each_node_reads_its_own_token_where_the_plan_says() {
    let plan: serde_json::Value = serde_json::from_str(&export_fixture("plan")).unwrap();
    let mut want: std::collections::BTreeMap<&str, Vec<(String, String, String)>> =
        Default::default();
    let mut nodes = Vec::new();
    for job in plan["jobs"].as_array().unwrap() {
        let Some(tokens) = job["tokens"].as_array() else {
            continue;
        };
        assert_eq!(
            &job["nodes"],
            &serde_json::json!(tokens.iter().map(|t| &t["node"]).collect::<Vec<_>>())
        );
        for t in tokens {
            let node = t["node"].as_str().unwrap().to_string();
            nodes.push(node.clone());
            for (target, place, key) in [
                ("argo", "secret", "key"),
                ("kubernetes", "secret", "key"),
                ("nomad", "variable", "item"),
            ] {
                let at = &t[target];
                want.entry(target).or_default().push((
                    node.clone(),
                    at[place].as_str().unwrap().to_string(),
                    at[key].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    assert_eq!(nodes.len(), 5, "{nodes:?}");
    for places in want.values() {
        let distinct: std::collections::BTreeSet<_> =
            places.iter().map(|(_, p, k)| (p, k)).collect();
        assert_eq!(distinct.len(), places.len(), "a token shared: {places:?}");
    }
    let env_of = |container: &serde_json::Value, name: &str| -> serde_json::Value {
        container["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap_or_default()
    };

    // Argo: the index parameter (or 0) put into each template's node id and secret key.
    let argo: serde_json::Value = serde_json::from_str(&export_fixture("argo")).unwrap();
    let mut got = Vec::new();
    for template in argo["spec"]["templates"].as_array().unwrap() {
        let Some(container) = template.get("container") else {
            continue;
        };
        let count = argo["spec"]["templates"][0]["dag"]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["template"] == template["name"])
            .and_then(|t| t["withSequence"]["count"].as_str())
            .map_or(1, |c| c.parse().unwrap());
        let secret = &env_of(container, "ORRERY_STORE_TOKEN")["valueFrom"]["secretKeyRef"];
        for i in 0..count {
            let put = |v: &serde_json::Value| {
                v.as_str()
                    .unwrap()
                    .replace("{{inputs.parameters.index}}", &i.to_string())
            };
            got.push((
                put(&env_of(container, "ORRERY_NODE")["value"]),
                put(&secret["name"]),
                put(&secret["key"]),
            ));
        }
    }
    assert_eq!(got, want["argo"]);

    // Kubernetes: `$(ORRERY_NODE_INDEX)` in the node id and the token file, from the Job's
    // token Secret mounted there.
    let mut got = Vec::new();
    for doc in export_fixture("k8s")
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
    {
        let job: serde_json::Value = serde_json::from_str(doc).unwrap();
        let pod = &job["spec"]["template"]["spec"];
        let main = &pod["containers"][0];
        let command: Vec<&str> = main["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let file = command[command.iter().position(|c| *c == "--token-file").unwrap() + 1];
        let mount = main["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| file.starts_with(&format!("{}/", m["mountPath"].as_str().unwrap())))
            .expect("the token file is on a mounted volume");
        let volume = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == mount["name"])
            .unwrap();
        let secret = volume["secret"]["secretName"].as_str().unwrap();
        let key = file.rsplit('/').next().unwrap();
        for i in 0..job["spec"]["completions"].as_u64().unwrap() {
            let put = |s: &str| s.replace("$(ORRERY_NODE_INDEX)", &i.to_string());
            got.push((
                put(env_of(main, "ORRERY_NODE")["value"].as_str().unwrap()),
                secret.to_string(),
                put(key),
            ));
        }
    }
    assert_eq!(got, want["kubernetes"]);

    // Nomad: the job's own variable, the item picked by the allocation's index.
    let mut got = Vec::new();
    for line in export_fixture("nomad").lines() {
        let job: serde_json::Value = serde_json::from_str(line).unwrap();
        let group = &job["Job"]["TaskGroups"][0];
        let main = group["Tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["Name"] == "main")
            .unwrap();
        let template = main["Templates"][0]["EmbeddedTmpl"].as_str().unwrap();
        let variable = template
            .split("nomadVar \"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .unwrap();
        assert!(
            template.contains(r#"(printf "node_%s" (env "NOMAD_ALLOC_INDEX"))"#),
            "{template}"
        );
        for i in 0..group["Count"].as_u64().unwrap() {
            got.push((
                main["Env"]["ORRERY_NODE"]
                    .as_str()
                    .unwrap()
                    .replace("${NOMAD_ALLOC_INDEX}", &i.to_string()),
                variable.to_string(),
                format!("node_{i}"),
            ));
        }
    }
    assert_eq!(got, want["nomad"]);
}

/// `tests/export/config.yml` exported to one target, as both fixture tests run it.
fn export_fixture(target: &str) -> String {
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/export/config.yml");
    let out = orrery(&[
        "export",
        "--to",
        target,
        "--config",
        config.to_str().unwrap(),
        "--branch",
        "main",
        "--run-name",
        "fixture",
        "--store-url",
        "https://store.example:7311",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}
