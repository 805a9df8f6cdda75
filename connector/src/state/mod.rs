//! What the connector keeps in the connection's storage between calls:
//! reference catalogs (field definitions, brand and group names, staff
//! roles), marks of tickets, the first import's window and the split of
//! its comment history. Storage keys are listed in the README.

pub mod catalog;
pub mod deleted;
pub mod marks;
pub mod split;
pub mod window;
