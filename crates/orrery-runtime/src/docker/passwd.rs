//! Who the steps run as: `user:` (or the image's `USER`) looked up in the container's
//! `/etc/passwd` and `/etc/group`, for `~` and for the owner of everything put into the
//! container. Pure.

use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub uid: u64,
    pub gid: u64,
    pub home: PathBuf,
}

/// Whether resolving `user` needs `/etc/group` (a group given by name).
pub fn needs_group(user: &str) -> bool {
    user.split_once(':')
        .is_some_and(|(_, g)| !g.is_empty() && g.parse::<u64>().is_err())
}

/// `user` is `name`, `uid`, `name:group` or `uid:gid` (empty: root). A numeric user missing from
/// passwd still works (as in Docker), with `/` as its home unless it is root.
pub fn resolve(user: &str, passwd: &str, group: &str) -> Result<Account, String> {
    let (user, grp) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let user = if user.is_empty() { "root" } else { user };
    let entry = passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 6 {
            return None;
        }
        let matches = f[0] == user || (user.parse::<u64>().is_ok() && f[2] == user);
        matches.then(|| (f[2].parse::<u64>().ok(), f[3].parse::<u64>().ok(), f[5]))
    });
    let mut account = match entry {
        Some((Some(uid), Some(gid), home)) => Account {
            uid,
            gid,
            home: PathBuf::from(if home.is_empty() { "/" } else { home }),
        },
        _ if user == "root" => Account {
            uid: 0,
            gid: 0,
            home: PathBuf::from("/root"),
        },
        _ => match user.parse::<u64>() {
            Ok(uid) => Account {
                uid,
                gid: uid,
                home: PathBuf::from(if uid == 0 { "/root" } else { "/" }),
            },
            Err(_) => return Err(format!("user `{user}` is not in the image's /etc/passwd")),
        },
    };
    if let Some(g) = grp.filter(|g| !g.is_empty()) {
        account.gid = match g.parse::<u64>() {
            Ok(gid) => gid,
            Err(_) => group
                .lines()
                .find_map(|line| {
                    let f: Vec<&str> = line.split(':').collect();
                    (f.len() >= 3 && f[0] == g).then(|| f[2].parse::<u64>().ok())?
                })
                .ok_or_else(|| format!("group `{g}` is not in the image's /etc/group"))?,
        };
    }
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/sh\ncircleci:x:3434:3434:circleci:/home/circleci:/bin/bash\n";
    const GROUP: &str = "root:x:0:\ndocker:x:999:circleci\n";

    #[test]
    fn users() {
        let ci = resolve("circleci", PASSWD, GROUP).unwrap();
        assert_eq!((ci.uid, ci.gid), (3434, 3434));
        assert_eq!(ci.home, PathBuf::from("/home/circleci"));
        assert_eq!(resolve("3434", PASSWD, GROUP).unwrap(), ci);
        assert_eq!(
            resolve("", PASSWD, GROUP).unwrap().home,
            PathBuf::from("/root")
        );
        assert_eq!(resolve("circleci:docker", PASSWD, GROUP).unwrap().gid, 999);
        assert_eq!(resolve("circleci:5", PASSWD, GROUP).unwrap().gid, 5);
        let anon = resolve("1234", PASSWD, GROUP).unwrap();
        assert_eq!(
            (anon.uid, anon.gid, anon.home),
            (1234, 1234, PathBuf::from("/"))
        );
        assert!(resolve("nobody", PASSWD, GROUP).is_err());
        // An image without /etc/passwd still runs as root.
        assert_eq!(resolve("", "", "").unwrap().home, PathBuf::from("/root"));
        assert!(resolve("circleci:nogroup", PASSWD, GROUP).is_err());
    }
}
