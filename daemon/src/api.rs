//! The HTTP API on the socket: routes from `proto`, thin handlers over the broker.

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use opcp_cred_proto::doctor::{DoctorReport, DoctorRequest};
use opcp_cred_proto::messages::{
    DeleteProfileResponse, ProfileList, ProjectList, PutProfile, PutProfileResponse, Status,
    Timestamp, TokenRequest,
};
use opcp_cred_proto::{API_VERSION, ErrorBody, ErrorKind, routes};

use crate::broker::Broker;
use crate::error::Failure;

/// A request body that has not arrived in this time is an attack or a hung client.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct AppState {
    pub broker: Arc<Broker>,
    pub started_at: Timestamp,
}

/// The whole API as a router, for the socket server and for `oneshot` tests.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route(routes::STATUS, get(status))
        .route(routes::TOKEN, post(token))
        .route(routes::DOCTOR, post(doctor))
        .route(routes::PROFILES, get(profiles))
        .route(routes::PROFILE, put(put_profile).delete(delete_profile))
        .route(routes::PROFILE_PROJECTS, get(projects))
        .fallback(unknown_route)
        .layer(DefaultBodyLimit::max(routes::MAX_BODY_BYTES))
        .with_state(state)
}

/// `Json` whose rejections use the one error shape.
struct Body<T>(T);

impl<S: Send + Sync, T: Send> FromRequest<S> for Body<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
{
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // A request's small body nearly always came with its head: the timer, which costs a
        // trip through the runtime's timer wheel, is armed only when it did not.
        let mut read = std::pin::pin!(Json::<T>::from_request(req, state));
        let first = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
        let read = match first {
            Poll::Ready(result) => Ok(result),
            Poll::Pending => tokio::time::timeout(BODY_READ_TIMEOUT, read).await,
        };
        match read {
            Ok(Ok(Json(value))) => Ok(Self(value)),
            Ok(Err(rejection)) => Err(Failure::new(
                ErrorKind::BadRequest,
                format!("bad request body: {}", rejection.body_text().to_lowercase()),
                None,
            )),
            Err(_) => Err(Failure::new(
                ErrorKind::BadRequest,
                format!("the request body did not arrive within {BODY_READ_TIMEOUT:?}"),
                None,
            )),
        }
    }
}

async fn status(State(state): State<AppState>) -> Json<Status> {
    let broker = &state.broker;
    // Read the file first: the error below is about what is on disk now.
    let config = broker.config().current();
    Json(Status {
        api_version: API_VERSION,
        daemon_version: env!("CARGO_PKG_VERSION").to_owned(),
        pid: std::process::id(),
        started_at: state.started_at,
        config_path: broker.config().path().display().to_string(),
        config_error: broker.config().last_error(),
        keyring: broker.keyring_name().map(str::to_owned),
        default_profile: config.default_profile.clone(),
        profiles: broker.profile_status(),
    })
}

/// The body comes rendered from the broker: see [`Broker::token`].
async fn token(
    State(state): State<AppState>,
    Body(request): Body<TokenRequest>,
) -> Result<impl IntoResponse, Failure> {
    let body = state.broker.token(request).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body))
}

/// Always 200: a failed step is the report's content, not an error of the request.
async fn doctor(
    State(state): State<AppState>,
    Body(request): Body<DoctorRequest>,
) -> Json<DoctorReport> {
    Json(state.broker.doctor(request).await)
}

async fn profiles(State(state): State<AppState>) -> Json<ProfileList> {
    Json(state.broker.profiles())
}

async fn put_profile(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Body(put): Body<PutProfile>,
) -> Result<Json<PutProfileResponse>, Failure> {
    state.broker.put_profile(&name, put).await.map(Json)
}

async fn delete_profile(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<DeleteProfileResponse>, Failure> {
    state.broker.delete_profile(&name).await.map(Json)
}

async fn projects(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ProjectList>, Failure> {
    state.broker.projects(&name).await.map(Json)
}

/// 404 with the one error shape: a client that gets it asks `/v1/status` which side is older.
async fn unknown_route(request: Request) -> (StatusCode, Json<ErrorBody>) {
    let message = format!(
        "no route {} {} (this daemon speaks API v{API_VERSION})",
        request.method(),
        request.uri().path()
    );
    (
        StatusCode::NOT_FOUND,
        Json(ErrorBody::new(ErrorKind::BadRequest, message, None)),
    )
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use axum::body::Bytes;
    use axum::http::StatusCode;
    use axum::routing::post;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    /// A body whose bytes never come.
    struct Stalled;

    impl hyper::body::Body for Stalled {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    fn echo() -> Router {
        Router::new().route(
            routes::TOKEN,
            post(|Body(request): Body<TokenRequest>| async move {
                request.profile.unwrap_or_default()
            }),
        )
    }

    fn request(body: axum::body::Body) -> Request {
        Request::post(routes::TOKEN)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_came_is_read_one_that_never_comes_times_out() {
        let ok = echo()
            .oneshot(request(r#"{"profile":"pod"}"#.into()))
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(
            &ok.into_body().collect().await.unwrap().to_bytes()[..],
            b"pod"
        );

        let started = tokio::time::Instant::now();
        let stalled = echo()
            .oneshot(request(axum::body::Body::new(Stalled)))
            .await
            .unwrap();
        assert_eq!(stalled.status(), StatusCode::BAD_REQUEST);
        assert_eq!(started.elapsed(), BODY_READ_TIMEOUT);
        let text = stalled.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&text).contains("did not arrive"));
    }
}
