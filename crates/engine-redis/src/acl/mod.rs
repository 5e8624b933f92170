//! ACL users as redis-server 7.0 has them (redis's acl.c): users with passwords and flags, their
//! selectors (command bitmap, key patterns with read/write permissions, channel patterns), the
//! rule language of ACL SETUSER, the description ACL LIST/GETUSER print, the permission check
//! every command passes, and the ACL LOG of denials.
//!
//! Commands are named as redis names them, from redis's own command table ([`commands`]): every
//! command and subcommand (`config|get`) has an id, its bit in a selector's bitmap. Commands of
//! this node that redis 7.0 does not have use the "future commands" bit, which only `+@all`
//! grants, as redis treats commands loaded after the rules were written.
//!
//! Cost on the hot path: a client refers to its user through a shared [`UserTag`] whose
//! `unrestricted` flag says "every command, key and channel" (the default user unless changed).
//! The dispatcher tests that one flag; only restricted users pay for [`check`].

pub mod command;
pub mod commands;
pub mod rules;

use crate::client::Client;
use crate::cmd::CommandSpec;
use crate::server::Server;
use resp::request::Argv;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

pub use rules::{Selector, User};

/// One entry of redis's command table, for ACL purposes.
pub struct AclCommand {
    /// Lowercase; `parent|sub` for a subcommand.
    pub name: &'static str,
    /// Bits of [`categories`].
    pub categories: u32,
    /// Runs before authentication (AUTH, HELLO, ...): never denied by a command rule.
    pub no_auth: bool,
    /// Per key spec, in order: [`R`] (reads the key), [`W`] (changes it), both or neither.
    pub keys: &'static [u8],
    /// Position of the container command of a subcommand ([`NONE`] for a command).
    pub parent: u16,
}

/// The key spec reads the value (needs `%R~` or `~`).
pub const R: u8 = 1;
/// The key spec inserts, updates or deletes (needs `%W~` or `~`).
pub const W: u8 = 2;
pub const NONE: u16 = u16::MAX;

/// Category bits, in redis's order (ACL CAT lists them in this order).
pub mod categories {
    pub const KEYSPACE: u32 = 1;
    pub const READ: u32 = 1 << 1;
    pub const WRITE: u32 = 1 << 2;
    pub const SET: u32 = 1 << 3;
    pub const SORTEDSET: u32 = 1 << 4;
    pub const LIST: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const STRING: u32 = 1 << 7;
    pub const BITMAP: u32 = 1 << 8;
    pub const HYPERLOGLOG: u32 = 1 << 9;
    pub const GEO: u32 = 1 << 10;
    pub const STREAM: u32 = 1 << 11;
    pub const PUBSUB: u32 = 1 << 12;
    pub const ADMIN: u32 = 1 << 13;
    pub const FAST: u32 = 1 << 14;
    pub const SLOW: u32 = 1 << 15;
    pub const BLOCKING: u32 = 1 << 16;
    pub const DANGEROUS: u32 = 1 << 17;
    pub const CONNECTION: u32 = 1 << 18;
    pub const TRANSACTION: u32 = 1 << 19;
    pub const SCRIPTING: u32 = 1 << 20;
}

pub const CATEGORY_NAMES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The category bit of a name (case-insensitive), as `+@name` spells it.
pub fn category_by_name(name: &[u8]) -> Option<u32> {
    CATEGORY_NAMES
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

/// Bits in a selector's command bitmap; the last one is the "future commands" bit.
pub const COMMAND_BITS: usize = 512;
pub const FUTURE_BIT: u16 = (COMMAND_BITS - 1) as u16;

/// Lookups over [`commands::COMMANDS`], built once.
struct Index {
    by_name: HashMap<&'static str, u16>,
    /// Subcommand ids of each container command.
    subs: Vec<Vec<u16>>,
    /// ACL id of each entry of the node's command table ([`FUTURE_BIT`] if redis lacks it).
    of_table: Vec<u16>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let all = commands::COMMANDS;
        assert!(all.len() < COMMAND_BITS - 1, "command bitmap too small");
        let mut by_name = HashMap::new();
        let mut subs = vec![Vec::new(); all.len()];
        for (i, c) in all.iter().enumerate() {
            by_name.insert(c.name, i as u16);
            if c.parent != NONE {
                subs[c.parent as usize].push(i as u16);
            }
        }
        let of_table = crate::cmd::TABLE
            .iter()
            .map(|s| by_name.get(s.name).copied().unwrap_or(FUTURE_BIT))
            .collect();
        Index {
            by_name,
            subs,
            of_table,
        }
    })
}

/// The redis command (or `parent|sub` subcommand) of a name, any case; `None` if unknown or
/// if it has more than one `|`.
pub fn lookup_command(name: &[u8]) -> Option<u16> {
    let lower = crate::util::lower(name);
    let mut parts = lower.split('|');
    let base = parts.next()?;
    let sub = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let id = *index().by_name.get(base)?;
    match sub {
        None => Some(id),
        Some(_) => index().by_name.get(lower.as_str()).copied(),
    }
}

pub fn command(id: u16) -> Option<&'static AclCommand> {
    commands::COMMANDS.get(id as usize)
}

pub fn subcommands(id: u16) -> &'static [u16] {
    index().subs.get(id as usize).map_or(&[], Vec::as_slice)
}

/// The id a command line runs under: the subcommand's for a container command (`CONFIG GET`),
/// the container's when the subcommand is unknown (the handler then rejects it).
pub fn command_id(spec: &'static CommandSpec, argv: &Argv) -> u16 {
    let id = index().of_table[crate::cmd::table_index(spec)];
    let subs = subcommands(id);
    if subs.is_empty() || argv.len() < 2 {
        return id;
    }
    let name = commands::COMMANDS[id as usize].name;
    subs.iter()
        .copied()
        .find(|&s| {
            let full = commands::COMMANDS[s as usize].name.as_bytes();
            full.len() == name.len() + 1 + argv[1].len()
                && full[name.len() + 1..].eq_ignore_ascii_case(&argv[1])
        })
        .unwrap_or(id)
}

/// `name|sub` or `name` of the command line, for NOPERM errors and the ACL LOG.
pub fn full_name(spec: &'static CommandSpec, argv: &Argv) -> String {
    match command(command_id(spec, argv)) {
        Some(c) => c.name.to_string(),
        None => spec.name.to_string(),
    }
}

/// Whether argument `i` of a command line is a secret that SLOWLOG must not keep: passwords
/// and rules of AUTH, HELLO AUTH and ACL SETUSER (redis's `redactClientCommandArgument`).
pub fn redacted(argv: &Argv, i: usize) -> bool {
    let is = |at: usize, w: &str| {
        argv.get(at)
            .is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()))
    };
    if is(0, "auth") {
        i >= 1
    } else if is(0, "acl") && is(1, "setuser") {
        i >= 2
    } else if is(0, "hello") {
        (1..i).rev().take(2).any(|j| is(j, "auth"))
    } else {
        false
    }
}

/// ACL categories of a command of the node's table, as COMMAND INFO lists them (`@read`).
pub fn categories_of(spec: &'static CommandSpec) -> Vec<String> {
    let id = index().of_table[crate::cmd::table_index(spec)];
    let bits = command(id).map_or(0, |c| c.categories);
    CATEGORY_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| format!("@{n}"))
        .collect()
}

/// What clients hold of their user: its name and whether it may run everything (kept current
/// by every change of the user, read on every command).
#[derive(Debug)]
pub struct UserTag {
    pub name: String,
    unrestricted: AtomicBool,
}

impl UserTag {
    fn new(name: &str) -> Arc<UserTag> {
        Arc::new(UserTag {
            name: name.to_string(),
            unrestricted: AtomicBool::new(false),
        })
    }

    /// Every command, key and channel is allowed: no check needed.
    #[inline]
    pub fn unrestricted(&self) -> bool {
        self.unrestricted.load(Ordering::Relaxed)
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    /// The command (or subcommand) is not allowed.
    Command,
    /// The key at this argument position is not allowed.
    Key(usize),
    /// The channel at this argument position is not allowed.
    Channel(usize),
}

impl Denied {
    /// redis's ranking when no selector allows a command: channel over key over command.
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Command => (1, 0),
            Denied::Key(i) => (2, i),
            Denied::Channel(i) => (4, i),
        }
    }

    /// The error a top-level command gets.
    pub fn error(self, full_name: &str) -> String {
        match self {
            Denied::Command => format!(
                "NOPERM this user has no permissions to run the '{full_name}' command"
            ),
            Denied::Key(_) => {
                "NOPERM this user has no permissions to access one of the keys used as arguments"
                    .into()
            }
            Denied::Channel(_) => "NOPERM this user has no permissions to access one of the channels used as arguments".into(),
        }
    }

    /// The end of redis's `getAclErrorMessage` (scripts: "The user executing the script ...").
    pub fn reason(self) -> &'static str {
        match self {
            Denied::Command => "can't run this command or subcommand",
            Denied::Key(_) => {
                "can't access at least one of the keys mentioned in the command arguments"
            }
            Denied::Channel(_) => "can't publish to the channel mentioned in the command",
        }
    }

    /// EXEC's reason when the rules changed after queueing.
    pub fn exec_reason(self) -> &'static str {
        match self {
            Denied::Command => "no permission to execute the command or subcommand",
            Denied::Key(_) => "no permission to touch the specified keys",
            Denied::Channel(_) => "no permission to access one of the channels used as arguments",
        }
    }
}

/// Where a denial happened (ACL LOG `context`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogContext {
    Toplevel,
    Multi,
    Lua,
}

impl LogContext {
    fn name(self) -> &'static str {
        match self {
            LogContext::Toplevel => "toplevel",
            LogContext::Multi => "multi",
            LogContext::Lua => "lua",
        }
    }
}

/// ACL LOG `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogReason {
    Command,
    Key,
    Channel,
    Auth,
}

impl LogReason {
    fn name(self) -> &'static str {
        match self {
            LogReason::Command => "command",
            LogReason::Key => "key",
            LogReason::Channel => "channel",
            LogReason::Auth => "auth",
        }
    }
}

/// One ACL LOG entry (similar denials within a minute are counted in one entry).
pub struct LogEntry {
    pub count: u64,
    pub reason: LogReason,
    pub context: LogContext,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    pub ctime_ms: i64,
    pub client_info: String,
}

/// Entries farther apart than this are not grouped.
const LOG_GROUPING_MS: i64 = 60_000;
/// Entries scanned for a similar one.
const LOG_GROUPING_SCAN: usize = 10;

/// The server's ACL state: users by name (sorted, as ACL LIST and USERS list them) and the log.
pub struct Acl {
    pub users: BTreeMap<String, User>,
    pub log: VecDeque<LogEntry>,
    /// The `requirepass` last applied to the default user (CONFIG SET requirepass changes
    /// the default user's password; other CONFIG SETs must not).
    requirepass_applied: Option<String>,
}

pub const DEFAULT_USER: &str = "default";

impl Default for Acl {
    fn default() -> Acl {
        let mut users = BTreeMap::new();
        let mut default = User::new(DEFAULT_USER);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            default.apply(op.as_bytes()).expect("default user rules");
        }
        default.publish();
        users.insert(DEFAULT_USER.to_string(), default);
        Acl {
            users,
            log: VecDeque::new(),
            requirepass_applied: None,
        }
    }
}

impl Acl {
    pub fn default_user(&self) -> &User {
        &self.users[DEFAULT_USER]
    }

    pub fn default_tag(&self) -> Arc<UserTag> {
        Arc::clone(&self.default_user().tag)
    }

    /// Whether a new connection is authenticated without AUTH (the default user is enabled and
    /// needs no password).
    pub fn default_needs_no_auth(&self) -> bool {
        let d = self.default_user();
        d.nopass && d.enabled == Some(true)
    }

    /// `requirepass` is the default user's password: applied when it changed.
    pub fn sync_requirepass(&mut self, requirepass: &str) {
        if self.requirepass_applied.as_deref() == Some(requirepass) {
            return;
        }
        self.requirepass_applied = Some(requirepass.to_string());
        let d = self.users.get_mut(DEFAULT_USER).expect("default user");
        d.apply(b"resetpass").expect("resetpass");
        if requirepass.is_empty() {
            d.apply(b"nopass").expect("nopass");
        } else {
            let mut op = b">".to_vec();
            op.extend_from_slice(requirepass.as_bytes());
            d.apply(&op).expect("password");
        }
        d.publish();
    }

    /// AUTH: the user if the name and password match an enabled user.
    pub fn authenticate(&self, name: &[u8], pass: &[u8]) -> Option<Arc<UserTag>> {
        let u = self.users.get(std::str::from_utf8(name).ok()?)?;
        if u.enabled != Some(true) {
            return None;
        }
        if u.nopass || u.password_matches(pass) {
            Some(Arc::clone(&u.tag))
        } else {
            None
        }
    }
}

/// The argument positions of a command's key arguments, with the access each one needs: the
/// command's key specs in order, the last one covering any further keys.
fn keys_with_access(spec: &'static CommandSpec, id: u16, argv: &Argv) -> Vec<(usize, u8)> {
    let positions = match crate::cmd::keys::getkeys(spec, argv) {
        crate::cmd::keys::GetKeys::Keys(k) => k,
        _ => return Vec::new(),
    };
    let access = command(id).map_or(&[][..], |c| c.keys);
    // Key specs with variable flags: what the arguments do decides (redis's setGetKeys and
    // bitfieldGetKeys).
    let variable = match spec.name {
        "set" => Some(
            if argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get")) {
                R | W
            } else {
                W
            },
        ),
        "bitfield" => Some(if bitfield_reads_only(argv) { R } else { R | W }),
        _ => None,
    };
    // SORT's STORE key has no fixed place (redis's sortGetKeys): read the key, write STORE's.
    if spec.name == "sort" {
        return positions
            .into_iter()
            .enumerate()
            .map(|(i, p)| (p, if i == 0 { R } else { W }))
            .collect();
    }
    if let Some(a) = variable {
        return positions.into_iter().map(|p| (p, a)).collect();
    }
    positions
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let a = access.get(i).or(access.last()).copied().unwrap_or(R | W);
            (p, a)
        })
        .collect()
}

/// BITFIELD with only GET (and OVERFLOW) operations.
fn bitfield_reads_only(argv: &Argv) -> bool {
    let mut i = 2;
    while i < argv.len() {
        let rest = argv.len() - i - 1;
        let a = &argv[i];
        if a.eq_ignore_ascii_case(b"get") && rest >= 2 {
            i += 3;
        } else if a.eq_ignore_ascii_case(b"overflow") && rest >= 1 {
            i += 2;
        } else {
            return false;
        }
    }
    true
}

/// Channel arguments of the pub/sub commands that name channels: (position, is a pattern).
fn channels(spec: &'static CommandSpec, argv: &Argv) -> Vec<(usize, bool)> {
    match spec.name {
        "publish" if argv.len() > 1 => vec![(1, false)],
        "subscribe" => (1..argv.len()).map(|i| (i, false)).collect(),
        "psubscribe" => (1..argv.len()).map(|i| (i, true)).collect(),
        _ => Vec::new(),
    }
}

/// Whether `user` may run `argv` (a command of the node's table, arity checked): redis's
/// `ACLCheckAllUserCommandPerm`. One selector allowing it is enough.
pub fn check_user(user: &User, spec: &'static CommandSpec, argv: &Argv) -> Result<(), Denied> {
    let id = command_id(spec, argv);
    let mut keys: Option<Vec<(usize, u8)>> = None;
    let mut relevant = Denied::Command;
    for s in &user.selectors {
        match s.check(spec, id, argv, &mut keys) {
            Ok(()) => return Ok(()),
            Err(d) if d.rank() > relevant.rank() => relevant = d,
            Err(_) => {}
        }
    }
    Err(relevant)
}

impl Selector {
    fn check(
        &self,
        spec: &'static CommandSpec,
        id: u16,
        argv: &Argv,
        keys: &mut Option<Vec<(usize, u8)>>,
    ) -> Result<(), Denied> {
        let no_auth = command(id).is_some_and(|c| c.no_auth);
        if !self.all_commands && !no_auth && !self.allows_command(id, argv) {
            return Err(Denied::Command);
        }
        if !self.all_keys {
            let keys = keys.get_or_insert_with(|| keys_with_access(spec, id, argv));
            for &(pos, access) in keys.iter() {
                if !self.allows_key(&argv[pos], access) {
                    return Err(Denied::Key(pos));
                }
            }
        }
        if !self.all_channels {
            for (pos, pattern) in channels(spec, argv) {
                if !self.allows_channel(&argv[pos], pattern) {
                    return Err(Denied::Channel(pos));
                }
            }
        }
        Ok(())
    }
}

/// [`check_user`] for a client (`None` user: internal clients, which may run anything).
pub fn check(
    srv: &Server,
    client: &Client,
    spec: &'static CommandSpec,
    argv: &Argv,
) -> Result<(), Denied> {
    let Some(tag) = &client.user else {
        return Ok(());
    };
    if tag.unrestricted() {
        return Ok(());
    }
    match srv.acl.users.get(&tag.name) {
        Some(u) => check_user(u, spec, argv),
        // A deleted user's clients are disconnected; until they are, they may run nothing.
        None => Err(Denied::Command),
    }
}

/// Records a denial in the ACL LOG. `client` is the one whose user was denied (for scripts,
/// `info_of` is the script's caller, whose CLIENT LIST line the entry shows).
pub fn log_denial(
    srv: &mut Server,
    user: &[u8],
    info_of: &Client,
    reason: LogReason,
    context: LogContext,
    object: &[u8],
) {
    let now = crate::util::now_ms();
    let entry = LogEntry {
        count: 1,
        reason,
        context,
        object: object.to_vec(),
        username: user.to_vec(),
        ctime_ms: now,
        client_info: crate::cmd::server::client_line(info_of, now),
    };
    let log = &mut srv.acl.log;
    let similar = log.iter().take(LOG_GROUPING_SCAN).position(|e| {
        e.reason == entry.reason
            && e.context == entry.context
            && (e.ctime_ms - entry.ctime_ms).abs() <= LOG_GROUPING_MS
            && e.object == entry.object
            && e.username == entry.username
    });
    match similar {
        Some(i) => {
            let mut e = log.remove(i).expect("position found");
            e.client_info = entry.client_info;
            e.ctime_ms = entry.ctime_ms;
            e.count += 1;
            log.push_front(e);
        }
        None => {
            log.push_front(entry);
            let max = srv
                .config
                .value_of("acllog-max-len")
                .parse::<usize>()
                .unwrap_or(128);
            log.truncate(max);
        }
    }
}

/// A denial of `argv` for `client`: logged with the object redis logs (the command's full
/// name, or the key or channel).
pub fn log_command_denial(
    srv: &mut Server,
    client: &Client,
    info_of: &Client,
    denied: Denied,
    context: LogContext,
    spec: &'static CommandSpec,
    argv: &Argv,
) {
    let user = client
        .user
        .as_ref()
        .map_or(DEFAULT_USER.as_bytes().to_vec(), |u| {
            u.name.as_bytes().to_vec()
        });
    let (reason, object) = match denied {
        Denied::Command => (LogReason::Command, full_name(spec, argv).into_bytes()),
        Denied::Key(i) => (LogReason::Key, argv[i].to_vec()),
        Denied::Channel(i) => (LogReason::Channel, argv[i].to_vec()),
    };
    log_denial(srv, &user, info_of, reason, context, &object);
}

/// The dispatcher's check for a restricted client: `Err(error reply)` after logging the denial.
pub fn deny_reason(
    srv: &mut Server,
    client: &Client,
    spec: &'static CommandSpec,
    argv: &Argv,
) -> Option<String> {
    let denied = check(srv, client, spec, argv).err()?;
    let context = if client.multi.is_some() {
        LogContext::Multi
    } else {
        LogContext::Toplevel
    };
    log_command_denial(srv, client, client, denied, context, spec, argv);
    Some(denied.error(&full_name(spec, argv)))
}

/// Clients of a user that was deleted are disconnected (redis's `ACLFreeUserAndKillClients`);
/// the running one after its reply, left meanwhile as an unauthenticated default-user client.
pub fn kill_clients_of(srv: &mut Server, current: &mut Client, name: &str) {
    let default = srv.acl.default_tag();
    let of_user = |c: &Client| c.user.as_ref().is_some_and(|u| u.name == name);
    if of_user(current) {
        current.user = Some(Arc::clone(&default));
        current.authenticated = false;
        current.close_after_reply = true;
    }
    let ids: Vec<u64> = srv
        .clients
        .values()
        .filter(|c| of_user(c))
        .map(|c| c.id)
        .collect();
    for id in ids {
        crate::cmd::close_client(srv, id);
    }
}

/// After a change of `name`'s channel permissions: its subscribed clients whose channels or
/// patterns are no longer allowed are disconnected (redis's `ACLKillPubsubClientsIfNeeded`).
pub fn kill_pubsub_clients_if_needed(
    srv: &mut Server,
    current: &mut Client,
    name: &str,
    old: &User,
    new: &User,
) {
    if new.selectors.iter().any(|s| s.all_channels) {
        return;
    }
    let upcoming: Vec<&[u8]> = new
        .selectors
        .iter()
        .flat_map(|s| s.channels.iter().map(Vec::as_slice))
        .collect();
    let superset = old
        .selectors
        .iter()
        .all(|s| !s.all_channels && s.channels.iter().all(|c| upcoming.contains(&c.as_slice())));
    if superset {
        return;
    }
    let allowed = |ch: &[u8], pattern: bool| {
        upcoming.iter().any(|p| {
            if pattern {
                *p == ch
            } else {
                crate::util::glob_match(p, ch, false)
            }
        })
    };
    let violates = |c: &Client| {
        c.user.as_ref().is_some_and(|u| u.name == name)
            && (c.patterns.iter().any(|p| !allowed(p, true))
                || c.subscriptions.iter().any(|ch| !allowed(ch, false)))
    };
    if violates(current) {
        current.close_after_reply = true;
    }
    let ids: Vec<u64> = srv
        .clients
        .values()
        .filter(|c| violates(c))
        .map(|c| c.id)
        .collect();
    for id in ids {
        crate::cmd::close_client(srv, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Argv {
        Argv::from_slices(&a.iter().map(|x| x.as_bytes()).collect::<Vec<_>>())
    }

    #[test]
    fn secrets_are_redacted() {
        let set = argv(&["ACL", "SETUSER", "u", ">pw"]);
        assert!(!redacted(&set, 1) && redacted(&set, 2) && redacted(&set, 3));
        let auth = argv(&["auth", "u", "pw"]);
        assert!(!redacted(&auth, 0) && redacted(&auth, 1) && redacted(&auth, 2));
        let hello = argv(&["hello", "3", "AUTH", "u", "pw", "setname", "n"]);
        let r: Vec<bool> = (0..hello.len()).map(|i| redacted(&hello, i)).collect();
        assert_eq!(r, [false, false, false, true, true, false, false]);
        assert!(!redacted(&argv(&["acl", "getuser", "u"]), 2));
    }

    #[test]
    fn subcommands_are_found_by_their_container() {
        let config = crate::cmd::lookup(b"config").unwrap();
        let id = command_id(config, &argv(&["CONFIG", "Get", "x"]));
        assert_eq!(command(id).unwrap().name, "config|get");
        let unknown = command_id(config, &argv(&["config", "nosuch"]));
        assert_eq!(command(unknown).unwrap().name, "config");
        let get = crate::cmd::lookup(b"get").unwrap();
        assert_eq!(full_name(get, &argv(&["get", "k"])), "get");
    }

    #[test]
    fn every_table_command_has_an_id() {
        // Commands redis 7.0 lacks would be reachable only with +@all; there are none today.
        for spec in crate::cmd::TABLE {
            let id = index().of_table[crate::cmd::table_index(spec)];
            assert_ne!(
                id, FUTURE_BIT,
                "{} is not in redis's command table",
                spec.name
            );
        }
    }
}
