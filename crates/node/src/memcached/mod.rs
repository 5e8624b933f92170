//! The Memcached node: text/binary/meta listeners and connection loops over `engine-memcached`.

use crate::NodeArgs;

pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "the memcached engine is not built yet (issue 3); port {}",
        args.port()
    )
}
