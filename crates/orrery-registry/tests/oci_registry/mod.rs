//! Finds the real OCI registry the OCI tests run against.
//!
//! - `ORRERY_TEST_OCI_REGISTRY=HOST:PORT` names a running registry (e.g. one `.ci/run`
//!   started with `scripts/start-oci-registry.sh`).
//! - Unset, the first test runs `scripts/start-oci-registry.sh` once for this process, on a
//!   free port, tied to this process (it stops when the tests end).
//! - If no registry can be had, the tests fail when `CI` is set, and are reported as skipped
//!   (`orrery_testkit::missing`) otherwise.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

pub const ADDRESS_VARIABLE: &str = "ORRERY_TEST_OCI_REGISTRY";

/// `HOST:PORT` of the test registry, or `None` (after a loud message) when the tests skip.
pub fn registry_address() -> Option<String> {
    static ADDRESS: OnceLock<Result<String, String>> = OnceLock::new();
    let address = ADDRESS.get_or_init(|| match std::env::var(ADDRESS_VARIABLE) {
        Ok(address) if !address.is_empty() => check_answers(address),
        _ => start_registry(),
    });
    match address {
        Ok(address) => Some(address.clone()),
        Err(reason) => {
            orrery_testkit::missing(
                &format!("an OCI registry ({reason})"),
                &format!(
                    "scripts/setup installs docker-registry; or run scripts/start-oci-registry.sh \
                     and set {ADDRESS_VARIABLE}=127.0.0.1:5000"
                ),
            );
            None
        }
    }
}

/// A registry named by the environment must answer `GET /v2/` with 200.
fn check_answers(address: String) -> Result<String, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let answer = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .and_then(|client| client.get(format!("http://{address}/v2/")).send());
    match answer {
        Ok(response) if response.status().is_success() => Ok(address),
        Ok(response) => Err(format!(
            "{ADDRESS_VARIABLE}={address}: /v2/ answered {}",
            response.status()
        )),
        Err(error) => Err(format!(
            "{ADDRESS_VARIABLE}={address} does not answer: {error}"
        )),
    }
}

fn start_registry() -> Result<String, String> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|error| format!("no free port: {error}"))?
        .port();
    let address = format!("127.0.0.1:{port}");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/start-oci-registry.sh");
    let output = Command::new("bash")
        .arg(&script)
        .env(ADDRESS_VARIABLE, &address)
        .env(
            "ORRERY_TEST_OCI_REGISTRY_OWNER_PID",
            std::process::id().to_string(),
        )
        .output()
        .map_err(|error| format!("cannot run {}: {error}", script.display()))?;
    if output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stdout).trim());
        Ok(address)
    } else {
        Err(format!(
            "{} failed ({}):\n{}{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A repository namespace no earlier run used, so tests can share a long-lived registry.
pub fn unique_namespace(test: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!(
        "{}-{}-{nanos}-{}",
        test.replace('_', "-"),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
