//! The states and kinds of the things operators and agents act on: host actions, quarantined
//! files, notifications, IP rules, tokens and rule scopes. Each is stored and sent by its name.

/// Defines an enum whose variants have fixed names: `ALL`, `as_str`, `parse`, `Display`, and
/// serde by the same names behind the `serde` feature.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[cfg_attr(feature = "serde", serde(rename = $text))]
                $variant
            ),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// Where a host action stands.
    pub enum CommandState {
        /// Waiting for the host's next heartbeat.
        Queued = "queued",
        /// Delivered; waiting for the agent's report.
        Sent = "sent",
        Succeeded = "succeeded",
        Failed = "failed",
        /// The host did not run it before it expired.
        TimedOut = "timed_out",
    }
}

impl CommandState {
    /// Queued or sent: the agent may still run it.
    pub fn is_open(self) -> bool {
        matches!(self, CommandState::Queued | CommandState::Sent)
    }
}

named_enum! {
    /// A file in a host's quarantine box.
    pub enum QuarantineState {
        Quarantined = "quarantined",
        Restored = "restored",
    }
}

named_enum! {
    /// A notification in the outbox.
    pub enum OutboxState {
        /// Waiting for its next attempt.
        Pending = "pending",
        Sent = "sent",
        /// Given up: a permanent error or too many attempts.
        Failed = "failed",
    }
}

named_enum! {
    /// Which way a block drops traffic.
    pub enum Direction {
        /// From the address to the host (and to containers it forwards to).
        In = "in",
        /// From the host to the address.
        Out = "out",
    }
}

named_enum! {
    /// Who made an IP rule.
    pub enum RuleOrigin {
        /// A defense rule (an agent's own block after a brute force).
        System = "system",
        /// An operator.
        Custom = "custom",
    }
}

named_enum! {
    /// An IP rule's lifecycle.
    pub enum IpRuleStatus {
        Active = "active",
        /// Ended by a person.
        Disabled = "disabled",
        /// Its time was up.
        Expired = "expired",
    }
}

named_enum! {
    /// Where an IP rule stands on one host.
    pub enum IpRuleHostState {
        /// The block is on its way to the host.
        Pending = "pending",
        Applied = "applied",
        /// The host could not apply it (the message says why).
        Failed = "failed",
        /// The unblock is on its way.
        Removing = "removing",
        Removed = "removed",
        Expired = "expired",
    }
}

named_enum! {
    /// What a bearer token is for.
    pub enum TokenKind {
        /// Long-lived, for the CLI and scripts.
        Api = "api",
        /// A console sign-in.
        Session = "session",
    }
}

named_enum! {
    /// How far a rule or a setting reaches.
    pub enum ScopeKind {
        All = "all",
        Group = "group",
        Host = "host",
    }
}

/// The narrowest scope.
impl Default for ScopeKind {
    fn default() -> Self {
        ScopeKind::Host
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in CommandState::ALL {
            assert_eq!(CommandState::parse(s.as_str()), Some(*s));
        }
        assert_eq!(
            IpRuleHostState::parse("removing"),
            Some(IpRuleHostState::Removing)
        );
        assert_eq!(CommandState::TimedOut.to_string(), "timed_out");
        assert_eq!(Direction::parse("sideways"), None);
        assert!(CommandState::Sent.is_open() && !CommandState::Failed.is_open());
    }
}

named_enum! {
    /// What a baseline check found on a host.
    pub enum CheckStatus {
        Passed = "passed",
        Failed = "failed",
        /// What it examines is not on this host.
        NotApplicable = "not_applicable",
        /// It could not be judged.
        Error = "error",
    }
}
