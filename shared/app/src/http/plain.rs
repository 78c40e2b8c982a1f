//! The routes without their OpenAPI operations (issue 20): what the `http`
//! module registers when the crate is built without its `openapi` feature
//! (the Lambda functions). Each handler is registered on the path and methods
//! of its `#[utoipa::path]` annotation, exactly as `utoipa_axum::routes!`
//! registers it, but nothing builds the operations, their schemas or the
//! document, so a function's bootstrap links none of that: the API function
//! serves the document checked in as `openapi.json` (a test keeps it equal to
//! [`super::api_doc`]).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::MethodRouter;

/// What [`routes!`] gives: the paths of one group of handlers and the method
/// router that serves them.
pub struct PlainMethodRouter<S> {
    pub paths: Vec<String>,
    pub methods: MethodRouter<S>,
}

/// An axum router with `utoipa_axum::router::OpenApiRouter`'s registration
/// methods, without the document.
pub struct PlainRouter<S>(Router<S>);

impl<S: Clone + Send + Sync + 'static> PlainRouter<S> {
    pub fn new() -> Self {
        PlainRouter(Router::new())
    }

    /// Every path of `group`, each with the group's methods (as
    /// `OpenApiRouter::routes` does).
    pub fn routes(self, group: PlainMethodRouter<S>) -> Self {
        let router = group.paths.iter().fold(self.0, |router, path| {
            let path = if path.is_empty() { "/" } else { path };
            router.route(path, group.methods.clone())
        });
        PlainRouter(router)
    }

    /// [`Router::layer`] (as `OpenApiRouter::layer`), for the one layer a
    /// group of routes takes: its own body limit (the import's, R-3.7).
    pub fn layer(self, limit: DefaultBodyLimit) -> Self {
        PlainRouter(self.0.layer(limit))
    }

    pub fn merge(self, other: PlainRouter<S>) -> Self {
        PlainRouter(self.0.merge(other.0))
    }

    /// The router, and no document.
    pub fn split_for_parts(self) -> (Router<S>, ()) {
        (self.0, ())
    }
}

impl<S: Clone + Send + Sync + 'static> Default for PlainRouter<S> {
    fn default() -> Self {
        PlainRouter::new()
    }
}

/// `utoipa_axum::routes!` without the operations: each handler on the path
/// and methods its `#[utoipa::path]` names.
#[macro_export]
#[doc(hidden)]
macro_rules! plain_routes {
    ( $( $handler:ident ),+ $(,)? ) => {{
        #[allow(unused_imports)]
        use utoipa::Path as _;
        use utoipa_axum::PathItemExt as _;
        let mut paths = ::std::vec::Vec::<::std::string::String>::new();
        let mut methods = ::axum::routing::MethodRouter::new();
        $(
            utoipa_axum::paste! {
                let path = [<__path_ $handler>]::path();
                for method in [<__path_ $handler>]::methods() {
                    methods = methods.on(method.to_method_filter(), $handler);
                }
            }
            if !paths.contains(&path) {
                paths.push(path);
            }
        )+
        $crate::http::plain::PlainMethodRouter { paths, methods }
    }};
}
