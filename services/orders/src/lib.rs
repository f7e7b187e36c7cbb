//! The orders service: placing, reading and cancelling orders; the order state machine.
