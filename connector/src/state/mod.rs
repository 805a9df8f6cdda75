//! What the connector keeps in the connection's storage between calls:
//! reference catalogs (field definitions, brand and group names, staff
//! roles), marks of tickets with a customer comment, and the first
//! import's window. Storage keys are listed in the README.

pub mod catalog;
pub mod marks;
pub mod window;
