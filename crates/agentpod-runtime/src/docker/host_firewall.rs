//! `HostFirewall`: iptables rules that keep a pod's containers away from the host.
//!
//! An internal Docker network drops forwarded traffic (no internet, no other networks), but the
//! host itself still answers on the bridge's host-side address: a container on the pod network
//! could reach every host service bound to 0.0.0.0. The rules here refuse new connections that
//! arrive from the pod's bridge, except to ports explicitly allowed (the pod's gateways).
//! Replies to connections the host opened (the runner talking to the pod's Postgres) still pass.
//!
//! Every rule carries the comment [`RULE_COMMENT`] and names its bridge, so a rule can be found
//! again by its bridge, and `gc` can remove the rules of bridges that no longer exist.

use tokio::process::Command;

/// Marks agentpod's rules in `iptables -S` output; contains no spaces, so listing it back
/// needs no unquoting.
const RULE_COMMENT: &str = "dev.agentpod.managed";

/// INPUT holds the refusal of connections to the host; FORWARD the refusal of everything routed
/// off the bridge (the internet, other networks). Docker's internal network drops the latter
/// already; our own rule answers at once and, above all, counts: the packet counters of both
/// refusals tell the runner how often an agent tried to get out (a boundary violation).
const CHAINS: [&str; 2] = ["INPUT", "FORWARD"];
const CHAIN: &str = "INPUT";

/// Why a rule could not be installed or removed. Callers log it and carry on: a machine without
/// iptables (or without the right to use it) still runs pods, only less isolated.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FirewallError {
    #[error("run iptables {arguments}")]
    Spawn {
        arguments: String,
        source: std::io::Error,
    },
    #[error("run iptables {arguments} (exit {status}): {stderr}")]
    Failed {
        arguments: String,
        status: String,
        stderr: String,
    },
}

/// The host-side rules of one pod bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostFirewall {
    bridge: String,
}

impl HostFirewall {
    pub(crate) fn for_bridge(bridge: &str) -> Self {
        Self {
            bridge: bridge.to_string(),
        }
    }

    /// Refuses new connections from the bridge to the host. A refusal (not a silent drop) lets a
    /// client inside fail at once instead of waiting for its connect timeout.
    pub(crate) async fn close(&self) -> Result<(), FirewallError> {
        let mut arguments = self.rule_prefix();
        arguments.extend(
            [
                "-m",
                "conntrack",
                "!",
                "--ctstate",
                "ESTABLISHED,RELATED",
                "-j",
                "REJECT",
                "--reject-with",
                "icmp-admin-prohibited",
            ]
            .map(String::from),
        );
        iptables(&insert(arguments)).await?;
        let mut forward = vec!["-I".to_string(), "FORWARD".to_string()];
        forward.extend(
            [
                "-i",
                &self.bridge,
                "!",
                "-o",
                &self.bridge,
                "-m",
                "comment",
                "--comment",
                RULE_COMMENT,
            ]
            .map(String::from),
        );
        forward
            .extend(["-j", "REJECT", "--reject-with", "icmp-admin-prohibited"].map(String::from));
        iptables(&forward).await
    }

    /// Packets refused so far by this bridge's rules: connection attempts from the pod to the
    /// host, the internet or other networks. Replies to the host's own connections never count.
    pub(crate) async fn refused_packets(&self) -> Result<u64, FirewallError> {
        let mut refused = 0;
        for chain in CHAINS {
            let listing =
                iptables_output(&["-v".to_string(), "-S".to_string(), chain.to_string()]).await?;
            refused += listing
                .lines()
                .filter_map(|line| refused_count(line, &self.bridge))
                .sum::<u64>();
        }
        Ok(refused)
    }

    /// Lets new TCP connections from the bridge reach these host ports on `address` (the
    /// bridge's own host-side address, where the gateways listen) and nowhere else: the same
    /// port number on another host address (loopback, another bridge) stays refused. Inserted
    /// at the top of the chain, so they come before the refusal.
    pub(crate) async fn allow_tcp_ports(
        &self,
        address: &str,
        ports: &[u16],
    ) -> Result<(), FirewallError> {
        for port in ports {
            let mut arguments = self.rule_prefix();
            arguments.extend(
                [
                    "-d",
                    address,
                    "-p",
                    "tcp",
                    "--dport",
                    &port.to_string(),
                    "-j",
                    "ACCEPT",
                ]
                .map(String::from),
            );
            iptables(&insert(arguments)).await?;
        }
        Ok(())
    }

    /// Removes every agentpod rule of this bridge; none left is fine.
    pub(crate) async fn open(&self) -> Result<(), FirewallError> {
        for rule in listed_rules().await? {
            if rule.bridge == self.bridge {
                rule.remove().await?;
            }
        }
        Ok(())
    }

    fn rule_prefix(&self) -> Vec<String> {
        [
            "-i",
            &self.bridge,
            "-m",
            "comment",
            "--comment",
            RULE_COMMENT,
        ]
        .map(String::from)
        .to_vec()
    }
}

fn insert(mut rule: Vec<String>) -> Vec<String> {
    let mut arguments = vec!["-I".to_string(), CHAIN.to_string()];
    arguments.append(&mut rule);
    arguments
}

/// One of our rules as listed, with the arguments that delete it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ListedRule {
    /// As `iptables -S` prints it.
    pub(crate) text: String,
    pub(crate) bridge: String,
    deletion: Vec<String>,
}

impl ListedRule {
    pub(crate) async fn remove(&self) -> Result<(), FirewallError> {
        iptables(&self.deletion).await
    }
}

/// Every agentpod rule, of any bridge.
pub(crate) async fn listed_rules() -> Result<Vec<ListedRule>, FirewallError> {
    let mut rules = Vec::new();
    for chain in CHAINS {
        let listing = iptables_output(&["-S".to_string(), chain.to_string()]).await?;
        rules.extend(listing.lines().filter_map(parse_rule));
    }
    Ok(rules)
}

/// The packet count of one of our REJECT rules for `bridge`, from `iptables -v -S` output
/// (`-A INPUT -i ap1 ... -c 3 180 -j REJECT ...`); `None` for any other line.
fn refused_count(line: &str, bridge: &str) -> Option<u64> {
    let words: Vec<&str> = line
        .split_whitespace()
        .map(|word| word.trim_matches('"'))
        .collect();
    let ours = words
        .windows(2)
        .any(|pair| pair[0] == "--comment" && pair[1] == RULE_COMMENT)
        && words
            .windows(2)
            .any(|pair| pair[0] == "-i" && pair[1] == bridge)
        && words
            .windows(2)
            .any(|pair| pair[0] == "-j" && pair[1] == "REJECT");
    if !ours {
        return None;
    }
    words
        .windows(2)
        .find(|pair| pair[0] == "-c")
        .and_then(|pair| pair[1].parse().ok())
}

/// `-A INPUT -i ap1234 -m comment --comment dev.agentpod.managed ...` → the same words with
/// `-D`, which deletes exactly that rule. The nf_tables flavour of iptables prints the comment
/// in quotes; no word of our rules holds a space, so dropping quotes is all the unquoting needed.
fn parse_rule(line: &str) -> Option<ListedRule> {
    let words: Vec<&str> = line
        .split_whitespace()
        .map(|word| word.trim_matches('"'))
        .collect();
    if words.first() != Some(&"-A") || !words.get(1).is_some_and(|chain| CHAINS.contains(chain)) {
        return None;
    }
    let has_comment = words
        .windows(2)
        .any(|pair| pair[0] == "--comment" && pair[1] == RULE_COMMENT);
    if !has_comment {
        return None;
    }
    let bridge = words
        .windows(2)
        .find(|pair| pair[0] == "-i")
        .map(|pair| pair[1].to_string())?;
    let deletion = std::iter::once("-D")
        .chain(words.iter().skip(1).copied())
        .map(String::from)
        .collect();
    Some(ListedRule {
        text: line.to_string(),
        bridge,
        deletion,
    })
}

async fn iptables(arguments: &[String]) -> Result<(), FirewallError> {
    iptables_output(arguments).await.map(|_| ())
}

async fn iptables_output(arguments: &[String]) -> Result<String, FirewallError> {
    // `-w`: wait for the xtables lock, which Docker and other pods' setup hold briefly.
    let output = Command::new("iptables")
        .arg("-w")
        .args(arguments)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| FirewallError::Spawn {
            arguments: arguments.join(" "),
            source,
        })?;
    if !output.status.success() {
        return Err(FirewallError::Failed {
            arguments: arguments.join(" "),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_rules_are_parsed_into_their_deletion() {
        let line = "-A INPUT -i apk3j9x0qa -m comment --comment dev.agentpod.managed -p tcp -m tcp --dport 8080 -j ACCEPT";
        let rule = parse_rule(line).expect("an agentpod rule");
        assert_eq!(rule.bridge, "apk3j9x0qa");
        assert_eq!(rule.deletion[0], "-D");
        assert_eq!(rule.deletion[1..].join(" "), line[3..]);
    }

    #[test]
    fn quoted_comments_are_recognised() {
        let line = r#"-A INPUT -i apx1 -m comment --comment "dev.agentpod.managed" -j REJECT"#;
        let rule = parse_rule(line).expect("an agentpod rule");
        assert_eq!(
            rule.deletion.join(" "),
            "-D INPUT -i apx1 -m comment --comment dev.agentpod.managed -j REJECT"
        );
    }

    #[test]
    fn other_rules_are_left_alone() {
        for line in [
            "-P INPUT ACCEPT",
            "-A INPUT -i docker0 -j ACCEPT",
            "-A INPUT -i ap1 -m comment --comment someone-else -j DROP",
            "-A OUTPUT -i ap1 -m comment --comment dev.agentpod.managed -j DROP",
        ] {
            assert_eq!(parse_rule(line), None, "{line}");
        }
    }

    #[test]
    fn forward_rules_are_ours_too_and_their_refusals_are_counted() {
        let line = "-A FORWARD -i ap1 ! -o ap1 -m comment --comment \"dev.agentpod.managed\" -c 8 480 -j REJECT --reject-with icmp-admin-prohibited";
        let rule = parse_rule(line).expect("a FORWARD rule of ours");
        assert_eq!(rule.bridge, "ap1");
        assert_eq!(refused_count(line, "ap1"), Some(8));
        assert_eq!(refused_count(line, "ap2"), None, "another pod's bridge");
        let accept = "-A INPUT -i ap1 -p tcp -m tcp --dport 8080 -m comment --comment dev.agentpod.managed -c 5 300 -j ACCEPT";
        assert_eq!(
            refused_count(accept, "ap1"),
            None,
            "allowed traffic is not refused"
        );
    }
}
