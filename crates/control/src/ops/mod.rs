//! The API's operations, one module per resource family. Each validates with the guide's rules
//! and changes the state in one `ControlPlane::write`; none touches a process.

pub mod clusters;
pub mod events;
pub mod network;
pub mod parameter_groups;
pub mod reserved;
pub mod snapshots;
pub mod tags;

#[cfg(test)]
pub(crate) mod tests;
