//! Tables owned by the inventory service (its outbox, `inventory_outbox`, is written through
//! `platform::outbox`).

pub mod reservation;
pub mod stock;
