//! `serve --metrics-addr`: Prometheus metrics at `/metrics` (the
//! `metrics` facade's recorder from `metrics-exporter-prometheus`, the
//! schedule's gauges refreshed at each scrape) and `/healthz`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use connector_fleet::{Schedule, StatusGauges};
use connector_runtime::ConnectorError;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// Installs the Prometheus recorder, for every metric the process records.
pub fn install_recorder() -> Result<PrometheusHandle, ConnectorError> {
    PrometheusBuilder::new().install_recorder().map_err(|e| {
        ConnectorError::Internal(format!(
            "cannot install the metrics recorder ({e}); report this with --verbose output"
        ))
    })
}

/// Binds `addr` now (so that a port in use is an error at start), then
/// serves it in a task.
pub async fn serve(
    addr: SocketAddr,
    metrics: PrometheusHandle,
    schedule: Schedule,
) -> Result<SocketAddr, ConnectorError> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        ConnectorError::config(
            "--metrics-addr",
            format!("cannot listen on {addr}: {e}; choose a free address and port"),
        )
    })?;
    let bound = listener.local_addr().unwrap_or(addr);
    let gauges = Arc::new(StatusGauges::default());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (metrics, schedule, gauges) = (metrics.clone(), schedule.clone(), gauges.clone());
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let (metrics, schedule, gauges) =
                    (metrics.clone(), schedule.clone(), gauges.clone());
                async move {
                    Ok::<_, Infallible>(
                        answer(request.uri().path(), &metrics, &schedule, &gauges).await,
                    )
                }
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    Ok(bound)
}

/// The answer to a request for `path`.
async fn answer(
    path: &str,
    metrics: &PrometheusHandle,
    schedule: &Schedule,
    gauges: &StatusGauges,
) -> Response<Full<Bytes>> {
    let (status, body) = match path {
        "/metrics" => {
            // The schedule's view covers connections other processes run.
            match schedule.status().await {
                Ok((statuses, now)) => gauges.publish(&statuses, now),
                Err(error) => tracing::warn!(%error, "cannot read the schedule for the metrics"),
            }
            (StatusCode::OK, metrics.render())
        }
        "/healthz" => match schedule.status().await {
            Ok(_) => (StatusCode::OK, "ok\n".to_owned()),
            Err(error) => (StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n")),
        },
        _ => (
            StatusCode::NOT_FOUND,
            "not found: try /metrics or /healthz\n".to_owned(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}
