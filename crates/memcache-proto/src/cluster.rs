//! ElastiCache Auto Discovery payloads (`config get cluster`, `get AmazonElastiCache:cluster`).
//!
//! The data block is `<version>\n<host>|<ip>|<port> ...\n`: LF inside the block, as the cluster
//! clients parse it, with a byte count that matches the block (the guide's example header count
//! does not match its own payload; see `reference/behaviour.md` §3 and §13).

/// One node of the cluster configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub hostname: String,
    /// Empty when the private address is not known (the `|` separators stay).
    pub ip: String,
    pub port: u16,
}

/// A versioned cluster configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterConfig {
    pub version: u64,
    /// Kept in hostname order.
    pub nodes: Vec<Node>,
}

impl ClusterConfig {
    /// The data block of the reply.
    pub fn payload(&self) -> Vec<u8> {
        let mut out = Vec::new();
        crate::number::write_u64(&mut out, self.version);
        out.push(b'\n');
        for (i, n) in self.nodes.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(n.hostname.as_bytes());
            out.push(b'|');
            out.extend_from_slice(n.ip.as_bytes());
            out.push(b'|');
            crate::number::write_u64(&mut out, u64::from(n.port));
        }
        out.push(b'\n');
        out
    }

    /// Parses the data block of `config set cluster` (same shape as the payload; CRLF accepted).
    /// The nodes are sorted by hostname.
    pub fn parse_payload(data: &[u8]) -> Option<ClusterConfig> {
        let text = std::str::from_utf8(data).ok()?;
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let version = lines.next()?.parse().ok()?;
        let mut nodes = Vec::new();
        if let Some(list) = lines.next() {
            for entry in list.split(' ').filter(|e| !e.is_empty()) {
                let mut parts = entry.split('|');
                let (Some(hostname), Some(ip), Some(port), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return None;
                };
                if hostname.is_empty() {
                    return None;
                }
                nodes.push(Node {
                    hostname: hostname.to_string(),
                    ip: ip.to_string(),
                    port: port.parse().ok()?,
                });
            }
        }
        if lines.next().is_some() {
            return None;
        }
        nodes.sort_by(|a, b| a.hostname.cmp(&b.hostname));
        Some(ClusterConfig { version, nodes })
    }

    /// The whole text reply: `CONFIG cluster 0 <bytes>\r\n<payload>\r\nEND\r\n`.
    pub fn write_text_reply(&self, key: &[u8], out: &mut Vec<u8>) {
        let payload = self.payload();
        out.extend_from_slice(b"CONFIG ");
        out.extend_from_slice(key);
        out.extend_from_slice(b" 0 ");
        crate::number::write_u64(out, payload.len() as u64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&payload);
        out.extend_from_slice(b"\r\nEND\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_example_with_matching_count() {
        let cfg = ClusterConfig::parse_payload(
            b"12\nmyCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|11211 myCluster.pc4ldq.0001.use1.cache.amazonaws.com|10.82.235.120|11211\n",
        )
        .unwrap();
        assert_eq!(cfg.version, 12);
        assert_eq!(
            cfg.nodes[0].hostname,
            "myCluster.pc4ldq.0001.use1.cache.amazonaws.com"
        );
        let mut out = Vec::new();
        cfg.write_text_reply(b"cluster", &mut out);
        let expected = b"CONFIG cluster 0 136\r\n12\nmyCluster.pc4ldq.0001.use1.cache.amazonaws.com|10.82.235.120|11211 myCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|11211\n\r\nEND\r\n";
        assert_eq!(out, expected.to_vec());
    }

    #[test]
    fn missing_ip_keeps_pipes() {
        let cfg = ClusterConfig::parse_payload(b"1\r\nhost||11211\r\n").unwrap();
        assert_eq!(cfg.payload(), b"1\nhost||11211\n".to_vec());
        assert!(ClusterConfig::parse_payload(b"x\n").is_none());
        assert!(ClusterConfig::parse_payload(b"1\nhost|11211\n").is_none());
    }
}
