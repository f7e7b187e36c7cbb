//! The inventory service: stock per book and the reservation of orders.
