//! The connection to the Docker daemon: bollard over the unix socket with the API version
//! pinned to 1.41 (the newest this project's daemons speak; bollard's default would be refused),
//! and the tokio runtime the blocking job threads drive it with.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::errors::Error;
use bollard::{ClientVersion, Docker};

/// The Engine API version every request names.
pub const API_VERSION: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 41,
};

/// Per request (until the answer's headers): creating a container from a large image on the
/// vfs storage driver copies the whole image.
const REQUEST_TIMEOUT_SECS: u64 = 600;

pub struct Client {
    pub docker: Docker,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// Connects and checks that the daemon answers.
    pub fn connect(socket: &Path) -> Result<Client, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("orrery-docker")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the Docker client's runtime: {e}"))?;
        let path = socket
            .to_str()
            .ok_or_else(|| format!("{} is not a UTF-8 path", socket.display()))?;
        let docker = Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, &API_VERSION)
            .map_err(|e| format!("no Docker daemon answers on {path}: {e}"))?;
        let client = Client { docker, runtime };
        let ping = client.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), client.docker.ping()).await
        });
        match ping {
            Ok(Ok(_)) => Ok(client),
            Ok(Err(e)) => Err(format!(
                "no Docker daemon answers on {path}: {}",
                describe(&e)
            )),
            Err(_) => Err(format!("the Docker daemon on {path} did not answer in 5 s")),
        }
    }

    /// Runs a future to completion from a job thread.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    pub fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.spawn(future)
    }
}

/// The daemon's own message when there is one.
pub fn describe(e: &Error) -> String {
    match e {
        Error::DockerResponseServerError {
            status_code,
            message,
        } => format!("{message} (HTTP {status_code})"),
        other => other.to_string(),
    }
}

pub fn is_not_found(e: &Error) -> bool {
    matches!(
        e,
        Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The daemon socket `DOCKER_HOST` names (only `unix://` is supported: containers mount host
/// paths, so the daemon must be local), else the standard one.
pub fn socket_from(docker_host: Option<&str>) -> Result<PathBuf, String> {
    match docker_host.filter(|h| !h.is_empty()) {
        None => Ok(PathBuf::from("/var/run/docker.sock")),
        Some(h) => h
            .strip_prefix("unix://")
            .map(PathBuf::from)
            .ok_or_else(|| format!("DOCKER_HOST={h}: only a local unix:// socket is supported")),
    }
}
