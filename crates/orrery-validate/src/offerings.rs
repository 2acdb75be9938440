//! CircleCI's execution offerings (`data/executors.toml`, dated): resource classes per executor
//! type, machine images per machine family, Xcode versions. Read once, offline; the table is
//! refreshed by `scripts/refresh-executors` where a network is there.

use std::sync::OnceLock;

const TABLE: &str = include_str!("../data/executors.toml");

/// A machine family (Linux, Arm, GPU, Windows): the classes that run its images.
pub(crate) struct MachineFamily {
    pub resource_classes: Vec<String>,
    pub images: Vec<String>,
}

pub(crate) struct Offerings {
    /// When the table was last brought up to date (`YYYY-MM-DD`).
    pub updated: String,
    pub docker: Vec<String>,
    pub machine: Vec<MachineFamily>,
    pub macos: Vec<String>,
    pub xcode: Vec<String>,
    self_hosted: regex::Regex,
}

/// The table compiled into the binary.
pub(crate) fn offerings() -> &'static Offerings {
    static TABLE_READ: OnceLock<Offerings> = OnceLock::new();
    TABLE_READ.get_or_init(|| parse(TABLE).expect("data/executors.toml is well-formed (tested)"))
}

fn parse(source: &str) -> Result<Offerings, String> {
    use toml::de::{DeTable, DeValue};
    let table = DeTable::parse(source)
        .map_err(|e| e.message().to_string())?
        .into_inner();
    fn get<'t>(table: &'t DeTable<'_>, key: &str) -> Option<&'t DeValue<'t>> {
        table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v.get_ref())
    }
    fn text<'t>(value: Option<&'t DeValue<'t>>, what: &str) -> Result<&'t str, String> {
        match value {
            Some(DeValue::String(s)) => Ok(s.as_ref()),
            _ => Err(format!("`{what}` is not a string")),
        }
    }
    fn strings(value: Option<&DeValue<'_>>, what: &str) -> Result<Vec<String>, String> {
        let Some(DeValue::Array(items)) = value else {
            return Err(format!("`{what}` is not a list"));
        };
        items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::String(s) => Ok(s.to_string()),
                _ => Err(format!("`{what}` holds a non-string")),
            })
            .collect()
    }
    fn section<'t>(table: &'t DeTable<'_>, key: &str) -> Result<&'t DeTable<'t>, String> {
        match get(table, key) {
            Some(DeValue::Table(t)) => Ok(t),
            _ => Err(format!("no [{key}] table")),
        }
    }
    let docker = section(&table, "docker")?;
    let macos = section(&table, "macos")?;
    let mut machine = Vec::new();
    for (name, family) in section(&table, "machine")?.iter() {
        let DeValue::Table(family) = family.get_ref() else {
            return Err(format!("machine.{} is not a table", name.get_ref()));
        };
        machine.push(MachineFamily {
            resource_classes: strings(get(family, "resource_classes"), "resource_classes")?,
            images: strings(get(family, "images"), "images")?,
        });
    }
    let pattern = text(
        get(section(&table, "self_hosted")?, "pattern"),
        "self_hosted.pattern",
    )?;
    Ok(Offerings {
        updated: text(get(&table, "updated"), "updated")?.to_string(),
        docker: strings(get(docker, "resource_classes"), "docker.resource_classes")?,
        machine,
        macos: strings(get(macos, "resource_classes"), "macos.resource_classes")?,
        xcode: strings(get(macos, "xcode"), "macos.xcode")?,
        self_hosted: regex::Regex::new(pattern).map_err(|e| e.to_string())?,
    })
}

impl Offerings {
    pub fn is_self_hosted(&self, class: &str) -> bool {
        self.self_hosted.is_match(class)
    }

    /// Every machine resource class, of every family.
    pub fn machine_classes(&self) -> impl Iterator<Item = &str> {
        self.machine
            .iter()
            .flat_map(|f| f.resource_classes.iter().map(String::as_str))
    }

    /// Every machine image, of every family.
    pub fn machine_images(&self) -> impl Iterator<Item = &str> {
        self.machine
            .iter()
            .flat_map(|f| f.images.iter().map(String::as_str))
    }

    /// Whether `image` is offered. A dated tag (`2026.01.1`) newer than every listed tag of a
    /// known image is taken as released after the table was made.
    pub fn knows_image(&self, image: &str) -> bool {
        if self.machine_images().any(|known| known == image) {
            return true;
        }
        let Some((name, tag)) = image.split_once(':') else {
            return false;
        };
        let Some(date) = dated_tag(tag) else {
            return false;
        };
        let newest = self
            .machine_images()
            .filter_map(|known| known.split_once(':'))
            .filter(|(known, _)| *known == name)
            .filter_map(|(_, tag)| dated_tag(tag))
            .max();
        newest.is_some_and(|newest| date > newest)
    }

    /// Whether `version` is an offered Xcode version (`16.4` and `16.4.0` are one version).
    pub fn knows_xcode(&self, version: &str) -> bool {
        let wanted = xcode_key(version);
        self.xcode.iter().any(|known| xcode_key(known) == wanted)
    }
}

/// `2024.11.1` as `(2024, 11, 1)`.
fn dated_tag(tag: &str) -> Option<(u32, u32, u32)> {
    let mut parts = tag.split('.').map(|p| p.parse::<u32>().ok());
    let date = (parts.next()??, parts.next()??, parts.next()??);
    (parts.next().is_none() && date.0 >= 2000).then_some(date)
}

/// An Xcode version without its trailing `.0` parts.
pub(crate) fn xcode_key(version: &str) -> &str {
    let mut key = version.trim();
    while let Some(shorter) = key.strip_suffix(".0") {
        key = shorter;
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_and_knows_its_offerings() {
        let o = parse(TABLE).unwrap();
        assert!(o.updated.len() == 10 && o.updated.starts_with("20"));
        assert!(o.docker.iter().any(|c| c == "medium+"));
        assert!(o.machine_classes().any(|c| c == "gpu.nvidia.medium"));
        assert!(o.machine_classes().any(|c| c == "arm.medium"));
        assert!(o.is_self_hosted("acme/runner"));
        assert!(!o.is_self_hosted("acme/runner/x"));
        assert!(o.knows_image("ubuntu-2204:current"));
        assert!(
            o.knows_image("ubuntu-2404:2031.01.1"),
            "newer than the table"
        );
        assert!(!o.knows_image("ubuntu-2404:2020.01.1"));
        assert!(!o.knows_image("toto"));
        assert!(o.knows_xcode("16.4") && o.knows_xcode("16.4.0") && o.knows_xcode("27"));
        assert!(!o.knows_xcode("9.9.9"));
    }
}
