//! `authorize`: sign a connection in with OAuth in a browser, so that its
//! connection file needs no token. The provider redirects the browser to a
//! port on 127.0.0.1 that this command listens on; the code is exchanged
//! and the tokens stored sealed by the runtime's [`SignIn`].

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use connector_runtime::credentials::CredentialStore;
use connector_runtime::secrets::{Redactor, Secret};
use connector_runtime::sign_in::{RedirectError, SignIn};
use connector_runtime::ConnectorError;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::cli::AuthorizeArgs;
use crate::connection_file::Secrets;
use crate::context::Context;

/// The redirect's path on the loopback port.
const CALLBACK_PATH: &str = "/callback";

/// Sign the connection in; returns what to tell the operator.
pub async fn run(context: &Context, args: &AuthorizeArgs) -> Result<String, ConnectorError> {
    let recipe = context.recipe(&args.config, Secrets::Required)?;
    let spec =
        connector_runtime::connection::read_spec(&context.host.runtime, &recipe.loaded).await?;
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| {
            ConnectorError::config(
                "--port",
                format!(
                    "cannot listen on 127.0.0.1:{} ({e}); choose a free port with --port and \
                     register its redirect URL with the OAuth client",
                    args.port
                ),
            )
        })?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(args.port);
    let redirect_uri = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
    let redactor = Redactor::default();
    let settings = &recipe.settings;
    let sign_in = SignIn::start(
        &spec,
        settings.auth_scheme.as_deref(),
        &settings.config,
        &redirect_uri,
        &redactor,
    )?;
    eprintln!(
        "Open this address in a browser and allow access:\n\n  {}\n\n\
         Waiting for the redirect to {redirect_uri} (the OAuth client must list it as a \
         redirect URL; Ctrl-C to stop)...",
        sign_in.url()
    );
    if !args.no_browser {
        open_browser(sign_in.url());
    }
    let code = tokio::select! {
        code = receive_code(listener, &sign_in) => code?,
        () = tokio::time::sleep(args.timeout) => return Err(ConnectorError::Transient(format!(
            "no redirect came back within {}s; run the sign-in again (--timeout waits longer)",
            args.timeout.as_secs()
        ))),
        _ = tokio::signal::ctrl_c() => return Err(ConnectorError::Transient(
            "the sign-in was stopped before the redirect came back; run it again".into(),
        )),
    };
    let tokens = CredentialStore::new(settings.stores.tokens.clone(), &settings.name);
    sign_in
        .finish(&recipe.client, &code, &tokens, &redactor)
        .await?;
    let mut connection = recipe.open().await?;
    let warnings = connection.check().await?;
    let mut out = format!(
        "signed in: `{}` now uses OAuth tokens held sealed in the database; the connection \
         file needs no refresh token\nok: {} can reach its data\n",
        settings.name, settings.name
    );
    for warning in warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    Ok(out)
}

/// Open `url` in the desktop's browser, when there is a desktop; the
/// printed address serves otherwise.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        Some("open")
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        Some("xdg-open")
    } else {
        None
    };
    if let Some(opener) = opener {
        let _ = std::process::Command::new(opener)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
}

/// Serve the loopback port until a redirect of this sign-in arrives: its
/// code, or the provider's refusal. Redirects with another state (a forged
/// or stale link) are answered 400 and ignored.
async fn receive_code(listener: TcpListener, sign_in: &SignIn) -> Result<Secret, ConnectorError> {
    let (found, mut results) = mpsc::channel::<Result<Secret, RedirectError>>(1);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted.map_err(|e| ConnectorError::Transient(
                format!("the sign-in's loopback port failed ({e}); run the sign-in again")
            ))?,
            Some(result) = results.recv() => return result.map_err(|e| ConnectorError::Auth(e.to_string())),
        };
        let found = found.clone();
        let service = service_fn(move |request: Request<hyper::body::Incoming>| {
            let outcome = callback(sign_in, &request);
            let found = found.clone();
            async move {
                let (status, page) = match &outcome {
                    None => (StatusCode::NOT_FOUND, "Not found.".to_string()),
                    Some(Ok(_)) => (
                        StatusCode::OK,
                        "Signed in. You can close this window.".to_string(),
                    ),
                    Some(Err(e)) => (StatusCode::BAD_REQUEST, e.to_string()),
                };
                if let Some(outcome) = outcome {
                    if outcome != Err(RedirectError::WrongState) {
                        let _ = found.send(outcome).await;
                    }
                }
                let mut response = Response::new(Full::new(Bytes::from(page)));
                *response.status_mut() = status;
                Ok::<_, Infallible>(response)
            }
        });
        // One request at a time: a browser sends one redirect, and the
        // page it gets back ends the sign-in.
        let served = http1::Builder::new()
            .keep_alive(false)
            .serve_connection(TokioIo::new(stream), service);
        let _ = tokio::time::timeout(Duration::from_secs(10), served).await;
    }
}

/// What a request to the loopback port says: nothing (another path), or
/// the redirect's code or error.
fn callback(
    sign_in: &SignIn,
    request: &Request<hyper::body::Incoming>,
) -> Option<Result<Secret, RedirectError>> {
    (request.uri().path() == CALLBACK_PATH)
        .then(|| sign_in.code(request.uri().query().unwrap_or_default()))
}
