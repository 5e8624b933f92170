//! Users and selectors, and the rule language that changes them (ACL SETUSER's arguments,
//! redis's `ACLSetUser`/`ACLSetSelector`), and the rule text that describes them back (ACL LIST,
//! ACL GETUSER: redis's `ACLDescribeUser`, whose command part is the same best-fit of
//! categories redis computes, so the text is the one redis prints).

use super::{
    category_by_name, command, lookup_command, subcommands, UserTag, CATEGORY_NAMES, COMMAND_BITS,
    FUTURE_BIT, R, W,
};
use resp::request::Argv;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A key pattern and the access it grants ([`R`], [`W`] or both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPattern {
    pub pattern: Vec<u8>,
    pub access: u8,
}

/// A set of permissions: commands, keys, channels. A user has a root selector and maybe more;
/// a command is allowed if one selector allows all of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub root: bool,
    pub all_keys: bool,
    pub all_channels: bool,
    /// Set by `+@all`/`allcommands`, cleared as soon as any command is removed.
    pub all_commands: bool,
    bits: [u64; COMMAND_BITS / 64],
    /// `+select|0`: first arguments allowed for a command whose bit is off, by command id.
    first_args: Vec<(u16, Vec<Vec<u8>>)>,
    pub keys: Vec<KeyPattern>,
    pub channels: Vec<Vec<u8>>,
}

/// Why a rule was refused (the text after `Error in ACL SETUSER modifier '...': `).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    Syntax,
    UnknownCommand,
    PatternAfterAllKeys,
    PatternAfterAllChannels,
    NoSuchPassword,
    BadHash,
    SubcommandFirstArg,
}

impl RuleError {
    pub fn message(self) -> &'static str {
        match self {
            RuleError::Syntax => "Syntax error",
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::PatternAfterAllKeys => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::PatternAfterAllChannels => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist"
            }
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::SubcommandFirstArg => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// Space, control whitespace or NUL: not allowed in user names and patterns.
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&c| c == 0 || c == b' ' || (b'\t'..=b'\r').contains(&c))
}

impl Selector {
    /// An empty selector: no commands, keys or channels (`acl-pubsub-default` is
    /// `resetchannels` in 7.0).
    pub fn new(root: bool) -> Selector {
        Selector {
            root,
            all_keys: false,
            all_channels: false,
            all_commands: false,
            bits: [0; COMMAND_BITS / 64],
            first_args: Vec::new(),
            keys: Vec::new(),
            channels: Vec::new(),
        }
    }

    fn bit(&self, id: u16) -> bool {
        let id = id as usize;
        id < COMMAND_BITS && self.bits[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_bit(&mut self, id: u16, on: bool) {
        let id = id as usize;
        if id >= COMMAND_BITS {
            return;
        }
        if on {
            self.bits[id / 64] |= 1 << (id % 64);
        } else {
            self.bits[id / 64] &= !(1 << (id % 64));
            self.all_commands = false;
        }
    }

    /// Allows or denies a command and, for a container, all its subcommands.
    fn change_command(&mut self, id: u16, allow: bool) {
        self.set_bit(id, allow);
        self.first_args.retain(|(c, _)| *c != id);
        for &s in subcommands(id) {
            self.set_bit(s, allow);
        }
    }

    fn change_category(&mut self, category: u32, allow: bool) {
        for (i, c) in super::commands::COMMANDS.iter().enumerate() {
            if c.categories & category != 0 {
                self.change_command(i as u16, allow);
            }
        }
    }

    /// (allowed, denied) commands of a category.
    fn count_category(&self, category: u32) -> (usize, usize) {
        let mut on_off = (0, 0);
        for (i, c) in super::commands::COMMANDS.iter().enumerate() {
            if c.categories & category != 0 {
                if self.bit(i as u16) {
                    on_off.0 += 1;
                } else {
                    on_off.1 += 1;
                }
            }
        }
        on_off
    }

    pub fn allows_command(&self, id: u16, argv: &Argv) -> bool {
        if self.all_commands || self.bit(id) {
            return true;
        }
        let Some((_, args)) = self.first_args.iter().find(|(c, _)| *c == id) else {
            return false;
        };
        let at = if command(id).is_some_and(|c| c.parent != super::NONE) {
            2
        } else {
            1
        };
        argv.get(at)
            .is_some_and(|a| args.iter().any(|x| x.eq_ignore_ascii_case(a)))
    }

    pub fn allows_key(&self, key: &[u8], access: u8) -> bool {
        self.all_keys
            || self.keys.iter().any(|p| {
                p.access & access == access && crate::util::glob_match(&p.pattern, key, false)
            })
    }

    /// A channel name is matched against the patterns; a PSUBSCRIBE pattern must equal one.
    pub fn allows_channel(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.all_channels
            || self.channels.iter().any(|p| {
                if is_pattern {
                    p == channel
                } else {
                    crate::util::glob_match(p, channel, false)
                }
            })
    }

    /// Applies one selector rule (redis's `ACLSetSelector`).
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("allkeys") || op == b"~*" {
            self.all_keys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.all_keys = false;
            self.keys.clear();
        } else if is("allchannels") || op == b"&*" {
            self.all_channels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.bits = [u64::MAX; COMMAND_BITS / 64];
            self.all_commands = true;
            self.first_args.clear();
        } else if is("nocommands") || is("-@all") {
            self.bits = [0; COMMAND_BITS / 64];
            self.all_commands = false;
            self.first_args.clear();
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.all_keys {
                return Err(RuleError::PatternAfterAllKeys);
            }
            let (access, pattern) = if op[0] == b'%' {
                let mut access = 0;
                let mut at = 1;
                loop {
                    match op.get(at).map(u8::to_ascii_uppercase) {
                        Some(b'R') if access & R == 0 => access |= R,
                        Some(b'W') if access & W == 0 => access |= W,
                        Some(b'~') => {
                            at += 1;
                            break;
                        }
                        // redis accepts `%R` with no `~` as an empty pattern.
                        None => break,
                        _ => return Err(RuleError::Syntax),
                    }
                    at += 1;
                }
                (access, &op[at.min(op.len())..])
            } else {
                (R | W, &op[1..])
            };
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            match self.keys.iter_mut().find(|p| p.pattern == pattern) {
                Some(p) => p.access |= access,
                None => self.keys.push(KeyPattern {
                    pattern: pattern.to_vec(),
                    access,
                }),
            }
            self.all_keys = false;
        } else if op[0] == b'&' {
            if self.all_channels {
                return Err(RuleError::PatternAfterAllChannels);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(pattern.to_vec());
            }
            self.all_channels = false;
        } else if op[0] == b'+' && op.get(1) != Some(&b'@') {
            let name = &op[1..];
            match name.iter().rposition(|&c| c == b'|') {
                None => {
                    let id = lookup_command(name).ok_or(RuleError::UnknownCommand)?;
                    self.change_command(id, true);
                }
                Some(bar) => {
                    let id = lookup_command(&name[..bar]).ok_or(RuleError::UnknownCommand)?;
                    if command(id).is_some_and(|c| c.parent != super::NONE) {
                        return Err(RuleError::SubcommandFirstArg);
                    }
                    let sub = &name[bar + 1..];
                    if sub.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if !subcommands(id).is_empty() {
                        let sub_id = lookup_command(name).ok_or(RuleError::UnknownCommand)?;
                        self.change_command(sub_id, true);
                    } else {
                        match self.first_args.iter_mut().find(|(c, _)| *c == id) {
                            Some((_, args)) => {
                                if !args.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                                    args.push(sub.to_vec());
                                }
                            }
                            None => self.first_args.push((id, vec![sub.to_vec()])),
                        }
                    }
                }
            }
        } else if op[0] == b'-' && op.get(1) != Some(&b'@') {
            let id = lookup_command(&op[1..]).ok_or(RuleError::UnknownCommand)?;
            self.change_command(id, false);
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let category = category_by_name(&op[2..]).ok_or(RuleError::UnknownCommand)?;
            self.change_category(category, op[0] == b'+');
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// The command rules that rebuild this selector's bitmap: `+@all` or `-@all`, then the
    /// categories that fit best, then single commands (redis's
    /// `ACLDescribeSelectorCommandRules`).
    pub fn describe_commands(&self) -> String {
        let mut rules = String::new();
        let additive = !self.bit(FUTURE_BIT);
        let mut fake = Selector::new(false);
        if additive {
            rules.push_str("-@all ");
        } else {
            rules.push_str("+@all ");
            fake.apply(b"+@all").expect("+@all");
        }
        let mut temp = Selector::new(false);
        temp.bits = self.bits;
        let mut applied = [false; CATEGORY_NAMES.len()];
        loop {
            let mut best = None;
            let (mut min_diff, mut max_same) = (usize::MAX, 0);
            for (j, done) in applied.iter().enumerate() {
                if *done {
                    continue;
                }
                let (on, off) = temp.count_category(1 << j);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                    best = Some(j);
                    min_diff = diff;
                    max_same = same;
                }
            }
            let Some(j) = best else { break };
            fake.change_category(1 << j, additive);
            temp.change_category(1 << j, !additive);
            rules.push(if additive { '+' } else { '-' });
            rules.push('@');
            rules.push_str(CATEGORY_NAMES[j]);
            rules.push(' ');
            applied[j] = true;
        }
        for (i, c) in super::commands::COMMANDS.iter().enumerate() {
            let id = i as u16;
            let mine = self.bit(id);
            if mine != fake.bit(id) {
                rules.push(if mine { '+' } else { '-' });
                rules.push_str(c.name);
                rules.push(' ');
                fake.change_command(id, mine);
            }
            if !mine {
                if let Some((_, args)) = self.first_args.iter().find(|(c, _)| *c == id) {
                    for a in args {
                        rules.push('+');
                        rules.push_str(c.name);
                        rules.push('|');
                        rules.push_str(&String::from_utf8_lossy(a));
                        rules.push(' ');
                    }
                }
            }
        }
        rules.pop();
        rules
    }

    /// Key patterns as ACL GETUSER shows them (`~a* %R~b*`).
    pub fn describe_keys(&self) -> Vec<u8> {
        if self.all_keys {
            return b"~*".to_vec();
        }
        let mut v = Vec::new();
        for (i, p) in self.keys.iter().enumerate() {
            if i > 0 {
                v.push(b' ');
            }
            v.extend_from_slice(match p.access {
                a if a == R | W => b"~".as_slice(),
                R => b"%R~",
                W => b"%W~",
                _ => b"%~",
            });
            v.extend_from_slice(&p.pattern);
        }
        v
    }

    /// Channel patterns as ACL GETUSER shows them (`&a &b`).
    pub fn describe_channels(&self) -> Vec<u8> {
        if self.all_channels {
            return b"&*".to_vec();
        }
        let mut v = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                v.push(b' ');
            }
            v.push(b'&');
            v.extend_from_slice(c);
        }
        v
    }

    /// The whole selector as ACL LIST shows it: keys, channels, commands.
    pub fn describe(&self) -> Vec<u8> {
        let mut v = Vec::new();
        if self.all_keys {
            v.extend_from_slice(b"~* ");
        } else if !self.keys.is_empty() {
            v.extend_from_slice(&self.describe_keys());
            v.push(b' ');
        }
        if self.all_channels {
            v.extend_from_slice(b"&* ");
        } else {
            v.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                v.push(b'&');
                v.extend_from_slice(c);
                v.push(b' ');
            }
        }
        v.extend_from_slice(self.describe_commands().as_bytes());
        v
    }

    /// Whether this selector allows everything (no check needed for its user).
    fn unrestricted(&self) -> bool {
        self.all_commands && self.all_keys && self.all_channels
    }
}

/// An ACL user.
#[derive(Clone, Debug)]
pub struct User {
    pub tag: Arc<UserTag>,
    /// `on` (Some(true)), `off` (Some(false)); a new user is off.
    pub enabled: Option<bool>,
    pub nopass: bool,
    /// `sanitize-payload` (Some(true)) or `skip-sanitize-payload` (Some(false)).
    pub sanitize: Option<bool>,
    /// SHA-256 hashes of the passwords, lowercase hex, in the order they were added.
    pub passwords: Vec<String>,
    /// The root selector first.
    pub selectors: Vec<Selector>,
}

pub fn hash_password(p: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(p))
}

fn valid_hash(h: &[u8]) -> bool {
    h.len() == 64
        && h.iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

impl User {
    pub fn new(name: &str) -> User {
        User {
            tag: UserTag::new(name),
            enabled: Some(false),
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(true)],
        }
    }

    pub fn name(&self) -> &str {
        &self.tag.name
    }

    pub fn root(&self) -> &Selector {
        &self.selectors[0]
    }

    /// Makes the rules visible to the user's clients (the hot path's `unrestricted` flag).
    pub fn publish(&self) {
        self.tag
            .unrestricted
            .store(self.root().unrestricted(), Ordering::Relaxed);
    }

    pub fn password_matches(&self, pass: &[u8]) -> bool {
        let h = hash_password(pass);
        // Compared in constant time, as redis does.
        self.passwords.iter().any(|p| {
            p.len() == h.len()
                && p.bytes()
                    .zip(h.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
    }

    /// Applies one user rule (redis's `ACLSetUser`).
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("on") {
            self.enabled = Some(true);
        } else if is("off") {
            self.enabled = Some(false);
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                hash_password(&op[1..])
            } else if valid_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                hash_password(&op[1..])
            } else if valid_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            let at = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut s = Selector::new(false);
            for part in split_args(&op[1..op.len() - 1]).ok_or(RuleError::Syntax)? {
                s.apply(&part)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            for r in [
                "resetpass",
                "resetkeys",
                "resetchannels",
                "off",
                "sanitize-payload",
                "clearselectors",
                "-@all",
            ] {
                self.apply(r.as_bytes()).expect("reset rules");
            }
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }

    /// Applies a whole ACL SETUSER argument list to a copy of the user: the changed user, or
    /// the error reply (nothing is applied if any rule is wrong).
    pub fn with_rules(&self, args: &[&[u8]]) -> Result<User, String> {
        let merged = merge_selector_args(args).map_err(|start| {
            format!(
                "ERR Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(start)
            )
        })?;
        let mut u = self.clone();
        for op in &merged {
            u.apply(op).map_err(|e| {
                format!(
                    "ERR Error in ACL SETUSER modifier '{}': {}",
                    String::from_utf8_lossy(op),
                    e.message()
                )
            })?;
        }
        Ok(u)
    }

    /// Flags as ACL GETUSER lists them.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        match self.enabled {
            Some(true) => v.push("on"),
            Some(false) => v.push("off"),
            None => {}
        }
        if self.nopass {
            v.push("nopass");
        }
        match self.sanitize {
            Some(false) => v.push("skip-sanitize-payload"),
            Some(true) => v.push("sanitize-payload"),
            None => {}
        }
        v
    }

    /// The rules after `user <name> ` in ACL LIST.
    pub fn describe(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for f in self.flag_names() {
            v.extend_from_slice(f.as_bytes());
            v.push(b' ');
        }
        for p in &self.passwords {
            v.push(b'#');
            v.extend_from_slice(p.as_bytes());
            v.push(b' ');
        }
        for s in &self.selectors {
            if s.root {
                v.extend_from_slice(&s.describe());
            } else {
                v.extend_from_slice(b" (");
                v.extend_from_slice(&s.describe());
                v.push(b')');
            }
        }
        v
    }
}

/// ACL SETUSER arguments with selectors spread over several arguments (`(+get` `~k)`) joined
/// with spaces; `Err(first argument)` of an unclosed selector.
pub fn merge_selector_args<'a>(args: &[&'a [u8]]) -> Result<Vec<Vec<u8>>, &'a [u8]> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, op) in args.iter().enumerate() {
        if let Some((_, sel)) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                out.push(open.take().expect("open selector").1);
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((j, op.to_vec()));
            continue;
        }
        out.push(op.to_vec());
    }
    match open {
        Some((j, _)) => Err(args[j]),
        None => Ok(out),
    }
}

/// Splits a selector's inner text into rules like redis's `sdssplitargs`: whitespace
/// separated, with "double" (escapes) and 'single' quotes. `None` on unbalanced quotes.
pub fn split_args(s: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < s.len() && s[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= s.len() {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            let Some(&c) = s.get(i) else {
                if inq || insq {
                    return None;
                }
                break;
            };
            if inq {
                if c == b'\\' && i + 1 < s.len() {
                    i += 1;
                    cur.push(match s[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if s.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if c == b'\\' && s.get(i + 1) == Some(&b'\'') {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if s.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if c.is_ascii_whitespace() {
                break;
            } else if c == b'"' {
                inq = true;
            } else if c == b'\'' {
                insq = true;
            } else {
                cur.push(c);
            }
            i += 1;
        }
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::categories::READ;

    fn user(rules: &[&str]) -> User {
        let args: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
        User::new("u").with_rules(&args).expect("valid rules")
    }

    fn err(rules: &[&str]) -> String {
        let args: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
        User::new("u").with_rules(&args).expect_err("invalid rules")
    }

    fn describe(u: &User) -> String {
        String::from_utf8(u.describe()).unwrap()
    }

    #[test]
    fn new_user_is_off_with_nothing() {
        assert_eq!(describe(&User::new("u")), "off resetchannels -@all");
        assert_eq!(
            describe(&user(&["reset"])),
            "off sanitize-payload resetchannels -@all"
        );
    }

    #[test]
    fn passwords_hash_and_remove() {
        let u = user(&[
            "on",
            ">pw",
            ">pw",
            "#ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
        ]);
        assert_eq!(u.passwords.len(), 2);
        assert!(u.password_matches(b"pw"));
        assert!(u.password_matches(b"a"));
        assert!(!u.password_matches(b"b"));
        let u = u.with_rules(&[b"<pw"]).unwrap();
        assert!(!u.password_matches(b"pw"));
        assert!(u
            .with_rules(&[b"<nope"])
            .unwrap_err()
            .ends_with("The password you are trying to remove from the user does not exist"));
        assert!(err(&["#abc"]).ends_with("only lowercase hexadecimal characters"));
        let u = user(&[">x", "nopass"]);
        assert!(u.nopass && u.passwords.is_empty());
        let u = u.with_rules(&[b"resetpass"]).unwrap();
        assert!(!u.nopass);
    }

    #[test]
    fn errors_name_the_rule() {
        assert_eq!(
            err(&["+bogus"]),
            "ERR Error in ACL SETUSER modifier '+bogus': Unknown command or category name in ACL"
        );
        assert_eq!(
            err(&["+@bogus"]),
            "ERR Error in ACL SETUSER modifier '+@bogus': Unknown command or category name in ACL"
        );
        assert_eq!(
            err(&["+config|get|x"]),
            "ERR Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg of a subcommand is not supported"
        );
        assert!(err(&["allkeys", "~a"]).contains("'allkeys' flag"));
        assert!(err(&["allchannels", "&a"]).contains("'allchannels' flag"));
        assert!(err(&["what"]).ends_with("Syntax error"));
        assert!(err(&["%X~a"]).ends_with("Syntax error"));
        assert!(err(&["+select|"]).ends_with("Syntax error"));
        assert_eq!(
            err(&["(+get", "~x"]),
            "ERR Unmatched parenthesis in acl selector starting at '(+get'."
        );
    }

    #[test]
    fn describes_like_redis() {
        let u = user(&[
            "on",
            "~k*",
            "%R~r*",
            "&ch",
            "+get",
            "+@hash",
            "+select|0",
            "(+set ~s*)",
        ]);
        let d = describe(&u);
        assert!(
            d.starts_with("on ~k* %R~r* resetchannels &ch -@all +@hash "),
            "{d}"
        );
        assert!(d.contains(" +get ") && d.contains(" +select|0 "), "{d}");
        assert!(d.ends_with(" (~s* resetchannels -@all +set)"), "{d}");
        assert_eq!(
            describe(&user(&[
                "on",
                "nopass",
                "allkeys",
                "allchannels",
                "allcommands"
            ])),
            "on nopass ~* &* +@all"
        );
        assert_eq!(
            describe(&user(&["+@all", "-@dangerous"])),
            "off resetchannels +@all -@dangerous"
        );
        assert_eq!(
            describe(&user(&["+@all", "-config|set"])),
            "off resetchannels +@all -config|set"
        );
        assert_eq!(
            describe(&user(&["%RW~a", "%W~b"])),
            "off ~a %W~b resetchannels -@all"
        );
    }

    #[test]
    fn key_and_channel_permissions() {
        let u = user(&["%R~r*", "%W~w*", "~a*", "&news.*"]);
        let s = u.root();
        assert!(s.allows_key(b"r1", R) && !s.allows_key(b"r1", W) && !s.allows_key(b"r1", R | W));
        assert!(s.allows_key(b"w1", W) && !s.allows_key(b"w1", R));
        assert!(s.allows_key(b"a1", R | W) && !s.allows_key(b"b", 0));
        assert!(s.allows_channel(b"news.1", false));
        assert!(!s.allows_channel(b"news.*x", true) && s.allows_channel(b"news.*", true));
    }

    #[test]
    fn commands_subcommands_and_first_args() {
        let get = lookup_command(b"GET").unwrap();
        let config = lookup_command(b"config").unwrap();
        let config_get = lookup_command(b"Config|Get").unwrap();
        let config_set = lookup_command(b"config|set").unwrap();
        let select = lookup_command(b"select").unwrap();
        let u = user(&["+get", "+config|get", "+select|0"]);
        let s = u.root();
        let argv =
            |a: &[&str]| Argv::from_slices(&a.iter().map(|x| x.as_bytes()).collect::<Vec<_>>());
        assert!(s.allows_command(get, &argv(&["get", "k"])));
        assert!(s.allows_command(config_get, &argv(&["config", "get", "x"])));
        assert!(!s.allows_command(config_set, &argv(&["config", "set", "x", "y"])));
        assert!(!s.allows_command(config, &argv(&["config", "x"])));
        assert!(s.allows_command(select, &argv(&["select", "0"])));
        assert!(!s.allows_command(select, &argv(&["select", "1"])));
        // Removing the container removes its subcommands; the first-args go with it.
        let u = u.with_rules(&[b"-config", b"-select"]).unwrap();
        assert!(!u
            .root()
            .allows_command(config_get, &argv(&["config", "get", "x"])));
        assert!(!u.root().allows_command(select, &argv(&["select", "0"])));
        // +@all also allows commands redis does not have (the future-commands bit).
        let all = user(&["+@all"]);
        assert!(all.root().allows_command(FUTURE_BIT, &argv(&["x"])));
        assert!(!user(&["+@read"])
            .root()
            .allows_command(FUTURE_BIT, &argv(&["x"])));
    }

    #[test]
    fn selector_arguments_merge_and_split() {
        let m = merge_selector_args(&[b"on", b"(+get", b"~a", b"~b)", b"(~c)"]).unwrap();
        assert_eq!(
            m,
            vec![b"on".to_vec(), b"(+get ~a ~b)".to_vec(), b"(~c)".to_vec()]
        );
        assert_eq!(merge_selector_args(&[b"(x"]), Err(&b"(x"[..]));
        assert_eq!(
            split_args(b" +get  \"~a b\" '&c' ").unwrap(),
            vec![b"+get".to_vec(), b"~a b".to_vec(), b"&c".to_vec()]
        );
        assert!(split_args(b"\"open").is_none());
        // A quoted pattern with a space is still refused by the rule itself.
        assert!(err(&["(\"~a b\")"]).ends_with("Syntax error"));
    }

    #[test]
    fn command_table_parents_are_prefixes() {
        for c in crate::acl::commands::COMMANDS {
            if c.parent != crate::acl::NONE {
                let p = command(c.parent).unwrap();
                assert!(c.name.starts_with(&format!("{}|", p.name)), "{}", c.name);
            }
        }
    }

    #[test]
    fn category_names() {
        assert_eq!(category_by_name(b"Read"), Some(READ));
        assert_eq!(category_by_name(b"all"), None);
    }
}
