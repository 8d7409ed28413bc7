//! Routes: `/` (home), `/meeting/{user}/{meeting}` (a meeting), anything else (not found).

use yew::prelude::*;
use yew_router::prelude::*;

use crate::home::Home;
use crate::meeting::Meeting;

/// The pages of the app.
#[derive(Debug, Clone, PartialEq, Routable)]
pub(crate) enum Route {
    /// Pick a name and a meeting.
    #[at("/")]
    Home,
    /// Join `meeting` as `user`.
    #[at("/meeting/:user/:meeting")]
    Meeting { user: String, meeting: String },
    /// Anything else.
    #[not_found]
    #[at("/404")]
    NotFound,
}

fn switch(route: Route) -> Html {
    match route {
        Route::Home => html! { <Home /> },
        Route::Meeting { user, meeting } => html! { <Meeting {user} {meeting} /> },
        Route::NotFound => html! {
            <main class="page narrow">
                <h1>{ "Page not found" }</h1>
                <p><a href="/">{ "Start or join a meeting" }</a></p>
            </main>
        },
    }
}

/// The app root.
#[function_component(App)]
pub(crate) fn app() -> Html {
    html! {
        <BrowserRouter>
            <Switch<Route> render={switch} />
        </BrowserRouter>
    }
}
