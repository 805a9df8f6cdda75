//! A connector that opens raw TCP sockets (`wasi:sockets`), bypassing the
//! host's HTTP policy. The host must refuse to load it.

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "connector-core",
    generate_all,
});

use connector::source::types::{
    ConnectorError, ConnectorSpec, NormalizedRecord, Page, PageRequest, StreamInfo, Warning,
};
use exports::connector::source::source::Guest;

struct Sockets;

impl Guest for Sockets {
    fn spec() -> ConnectorSpec {
        ConnectorSpec {
            name: "sockets-importer".into(),
            version: "0.0.0".into(),
            description: "Opens raw sockets (sandbox tests only)".into(),
            config_schema: "{}".into(),
            auth_schemes: Vec::new(),
            allowed_hosts: Vec::new(),
        }
    }

    fn configure(config: String, _auth_scheme: String) -> Result<String, ConnectorError> {
        Ok(config)
    }

    fn check() -> Result<Vec<Warning>, ConnectorError> {
        std::net::TcpStream::connect("203.0.113.7:25")
            .map(|_| Vec::new())
            .map_err(|e| ConnectorError::Transient(e.to_string()))
    }

    fn discover() -> Result<Vec<StreamInfo>, ConnectorError> {
        Ok(Vec::new())
    }

    fn fetch_page(_request: PageRequest) -> Result<Page, ConnectorError> {
        Err(ConnectorError::Internal("no streams".into()))
    }

    fn map_record(_stream: String, _raw: String) -> Result<Vec<NormalizedRecord>, ConnectorError> {
        Ok(Vec::new())
    }
}

export!(Sockets);
