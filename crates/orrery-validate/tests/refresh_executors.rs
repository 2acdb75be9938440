//! `scripts/refresh-executors` turns a saved offerings catalogue into a table the rule reads:
//! machine families split by class, Xcode versions without their `xcode:` prefix, newest first,
//! the Docker classes and the self-hosted pattern kept from the current table.

use std::path::Path;
use std::process::Command;

use toml::de::{DeTable, DeValue};

#[test]
fn the_script_writes_a_table_from_a_saved_catalogue() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let Ok(output) = Command::new("python3")
        .arg(root.join("scripts/refresh-executors"))
        .arg("--from")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/offerings/catalogue.json"))
        .arg("--dry-run")
        .output()
    else {
        orrery_testkit::missing("python3", "apt-get install python3");
        return;
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let table = DeTable::parse(&text)
        .expect("the table is TOML")
        .into_inner();
    let get = |table: &DeTable<'_>, key: &str| -> String {
        table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| format!("{:?}", v.get_ref()))
            .unwrap_or_default()
    };
    let section = |key: &str| -> DeTable<'_> {
        match table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v.get_ref().clone())
        {
            Some(DeValue::Table(t)) => t,
            other => panic!("no [{key}] in\n{text}\n({other:?})"),
        }
    };
    let machine = section("machine");
    for (family, class, image) in [
        ("linux", "\"medium\"", "ubuntu-2404:2026.01.1"),
        ("arm", "arm.medium", "ubuntu-2404:current"),
        ("gpu", "gpu.nvidia.small", "linux-cuda-12:default"),
        (
            "windows",
            "windows.medium",
            "windows-server-2025-gui:current",
        ),
    ] {
        let found = get(&machine, family);
        assert!(
            found.contains(class) && found.contains(image),
            "machine.{family}: {found}"
        );
    }
    let macos = get(&table, "macos");
    assert!(
        macos.contains("26.3.0") && !macos.contains("xcode:"),
        "{macos}"
    );
    assert!(
        macos.find("26.3.0") < macos.find("16.4.0"),
        "newest first: {macos}"
    );
    assert!(get(&section("docker"), "resource_classes").contains("2xlarge+.gen2"));
    assert!(get(&section("self_hosted"), "pattern").contains("A-Za-z0-9_-"));
}
