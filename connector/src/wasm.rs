//! The component: [`NativeConnector`] over the host's storage, exported
//! through the guest SDK.

use connector_sdk::HostStorage;

use crate::NativeConnector;

connector_sdk::export_connector!(NativeConnector<HostStorage>);
