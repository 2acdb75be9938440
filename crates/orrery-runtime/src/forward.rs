//! The agent's forwarder: on a cluster a job's service containers are services of their own
//! (swarm has no pods), so `localhost:PORT` in the job's container answers through a listener
//! on 127.0.0.1:PORT (and `[::1]:PORT` where the container has IPv6) that relays each
//! connection to the service's `HOST:PORT`. TCP only. Which ports a service listens on, its
//! own container tells ([`listening_ports`], read by `orrery agent ports` inside it).

use std::io;
use std::net::{Ipv6Addr, Shutdown, TcpListener, TcpStream};

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

/// Listens on 127.0.0.1 (and on `[::1]` when it can) for each forward and relays connections
/// from threads of their own (they end with the agent's process). A port already taken on
/// 127.0.0.1 is an error.
pub fn start(forwards: &[Forward]) -> Result<(), String> {
    for f in forwards {
        let listener = TcpListener::bind(("127.0.0.1", f.local))
            .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", f.local))?;
        accept(listener, f);
        // `localhost` may be tried as ::1 first; without IPv6 there is nothing to answer.
        if let Ok(listener) = TcpListener::bind((Ipv6Addr::LOCALHOST, f.local)) {
            accept(listener, f);
        }
    }
    Ok(())
}

fn accept(listener: TcpListener, f: &Forward) {
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

/// The TCP ports listened on for other hosts in a `/proc/net/tcp` or `/proc/net/tcp6` text
/// (state `0A`): a listener on a loopback address is left out (nothing outside its container
/// reaches it), as is one on port 0. Sorted, once each.
pub fn listening_ports(proc_net_tcp: &str) -> Vec<u16> {
    let mut ports: Vec<u16> = proc_net_tcp
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            if state != "0A" {
                return None;
            }
            let (address, port) = local.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok().filter(|p| *p != 0)?;
            (!is_loopback(address)).then_some(port)
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// An address of `/proc/net/tcp*` (hex, in the kernel's 32-bit words of host order) on loopback:
/// 127.0.0.0/8, `::1`, or `::ffff:127.x.y.z`.
fn is_loopback(hex: &str) -> bool {
    let words: Option<Vec<u32>> = (0..hex.len() / 8)
        .map(|i| u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect();
    let Some(words) = words else {
        return false;
    };
    // The kernel prints each word of the address as this machine stores it.
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    match bytes.len() {
        4 => bytes[0] == 127,
        16 => {
            let v6 = Ipv6Addr::from(<[u8; 16]>::try_from(bytes.as_slice()).unwrap_or([0; 16]));
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        _ => false,
    }
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
    fn listeners_for_other_hosts_only() {
        // As a container shows them: the embedded DNS on 127.0.0.11, httpd on 0.0.0.0:8080, a
        // connection (state 01), something on 127.0.0.1:6000 only.
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0B00007F:8411 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51844 1 0 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51845 1 0 100 0 0 10 0
   2: 0B00007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 51846 1 0 100 0 0 10 0
   3: 0100007F:1770 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51847 1 0 100 0 0 10 0
   4: 0A00000A:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51848 1 0 100 0 0 10 0
";
        assert_eq!(listening_ports(tcp), [80, 8080]);
        // `::` on 8081, `::1` on 9000, `::ffff:127.0.0.1` on 9001, and 8080 again.
        let tcp6 =
            "  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 0
   1: 00000000000000000000000001000000:2328 00000000000000000000000000000000:0000 0A 0
   2: 0000000000000000FFFF00000100007F:2329 00000000000000000000000000000000:0000 0A 0
   3: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 0
";
        assert_eq!(listening_ports(tcp6), [8080, 8081]);
        assert_eq!(listening_ports(""), Vec::<u16>::new());
        assert_eq!(listening_ports("header\n   0: garbage"), Vec::<u16>::new());
    }

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
