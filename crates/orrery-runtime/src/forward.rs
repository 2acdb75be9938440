//! The agent's forwarder: on a cluster a job's service containers are services of their own
//! (swarm has no pods), so `localhost:PORT` in the job's container answers through a listener
//! on 127.0.0.1:PORT that relays each connection to the service's `HOST:PORT`. TCP only.

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};

/// One `--forward LOCAL=HOST:PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forward {
    pub local: u16,
    pub host: String,
    pub port: u16,
}

impl Forward {
    /// Reads `LOCAL=HOST:PORT`.
    pub fn parse(text: &str) -> Result<Forward, String> {
        let bad = || format!("--forward {text}: expected LOCAL_PORT=HOST:PORT");
        let (local, target) = text.split_once('=').ok_or_else(bad)?;
        let (host, port) = target.rsplit_once(':').ok_or_else(bad)?;
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Forward {
            local: local.parse().map_err(|_| bad())?,
            host: host.to_string(),
            port: port.parse().map_err(|_| bad())?,
        })
    }
}

/// Listens on 127.0.0.1 for each forward and relays connections from threads of their own
/// (they end with the agent's process). A port already taken is an error.
pub fn start(forwards: &[Forward]) -> Result<(), String> {
    for f in forwards {
        let listener = TcpListener::bind(("127.0.0.1", f.local))
            .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", f.local))?;
        let target = (f.host.clone(), f.port);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let target = target.clone();
                std::thread::spawn(move || {
                    let _ = relay(client, &target);
                });
            }
        });
    }
    Ok(())
}

/// Copies both ways until either side closes.
fn relay(client: TcpStream, target: &(String, u16)) -> io::Result<()> {
    let server = TcpStream::connect((target.0.as_str(), target.1))?;
    let _ = server.set_nodelay(true);
    let _ = client.set_nodelay(true);
    let (mut client_in, mut server_out) = (client.try_clone()?, server.try_clone()?);
    let upstream = std::thread::spawn(move || {
        let _ = io::copy(&mut client_in, &mut server_out);
        let _ = server_out.shutdown(Shutdown::Write);
    });
    let (mut server_in, mut client_out) = (server, client);
    let _ = io::copy(&mut server_in, &mut client_out);
    let _ = client_out.shutdown(Shutdown::Write);
    let _ = upstream.join();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn relays_a_connection_both_ways() {
        assert!(Forward::parse("80").is_err());
        assert!(Forward::parse("x=db:80").is_err());
        assert!(Forward::parse("80=:80").is_err());
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = server.accept().unwrap();
            let mut got = [0u8; 4];
            s.read_exact(&mut got).unwrap();
            s.write_all(&got.map(|b| b.to_ascii_uppercase())).unwrap();
        });
        // A free port for the forwarder's own listener.
        let local = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let f = Forward::parse(&format!("{local}=127.0.0.1:{port}")).unwrap();
        assert_eq!(f.port, port);
        start(&[f]).unwrap();
        let mut c = TcpStream::connect(("127.0.0.1", local)).unwrap();
        c.write_all(b"ping").unwrap();
        let mut back = String::new();
        c.read_to_string(&mut back).unwrap();
        assert_eq!(back, "PING");
    }
}
