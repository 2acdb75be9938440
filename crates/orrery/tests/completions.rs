//! `orrery completions` and `orrery man`, generated from the clap definition: the scripts name
//! every command and flag, bash accepts its script, and the man pages are roff for every command.

mod common;

use std::process::Command;

use common::{orrery, text};

fn generated(args: &[&str]) -> String {
    let out = orrery(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn completions_name_the_commands_and_flags_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let script = generated(&["completions", shell]);
        for word in [
            "config", "process", "validate", "orb", "pack", "run", "orb-path", "format",
        ] {
            assert!(script.contains(word), "{shell}: no {word} in\n{script}");
        }
    }
    assert!(generated(&["completions", "zsh"]).starts_with("#compdef orrery"));
    assert!(generated(&["completions", "fish"]).contains("complete -c orrery"));
}

#[test]
fn bash_accepts_the_bash_script_and_completes_a_subcommand() {
    let script = generated(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orrery.bash");
    std::fs::write(&path, script).unwrap();
    // Load it and ask for the completions of `orrery con`.
    let probe = format!(
        "source {}; COMP_WORDS=(orrery con); COMP_CWORD=1; COMP_LINE='orrery con'; COMP_POINT=10; \
         _orrery orrery con orrery; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display()
    );
    let out = Command::new("bash")
        .args(["-c", &probe])
        .output()
        .expect("bash");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "config", "{}", text(&out.stderr));
}

#[test]
fn an_unknown_shell_is_refused_with_the_choices() {
    let out = orrery(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bash") && stderr.contains("fish"),
        "{stderr}"
    );
}

#[test]
fn the_man_page_is_roff_naming_the_commands() {
    let page = generated(&["man"]);
    assert!(page.starts_with(".ie"), "{}", &page[..page.len().min(200)]);
    assert!(page.contains(".TH orrery 1"), "{page}");
    for word in ["config", "orb", "run", "completions"] {
        assert!(page.contains(word), "no {word} in\n{page}");
    }
}

#[test]
fn man_dir_writes_a_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("man1");
    let out = orrery(&["man", "--dir", target.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for page in [
        "orrery.1",
        "orrery-config.1",
        "orrery-config-process.1",
        "orrery-run.1",
    ] {
        let text =
            std::fs::read_to_string(target.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
}
