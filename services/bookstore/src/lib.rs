//! The one bookstore binary: command-line interface and the wiring of services into processes.

pub mod adapters;
pub mod cli;
pub mod commands;
pub mod keys;
pub mod shop;
