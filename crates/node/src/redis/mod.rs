//! The Redis node: RESP listeners and connection loops over `engine-redis`.

use crate::NodeArgs;

pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "the redis engine is not built yet (issue 2); port {}",
        args.port()
    )
}
