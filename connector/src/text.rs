//! [`Text`]: a string that borrows from the JSON it was read from (the
//! record model's, `connector-records`, whose records hold it too).

pub use connector_records::Text;
