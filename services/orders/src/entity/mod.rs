//! Tables owned by the orders service (the schema is in `migration`, m20261123_000005).

pub mod order;
pub mod order_line;
