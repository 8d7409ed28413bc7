//! Routes: `/` (home), `/meeting/{meeting}` (an invite link: the pre-join page asks for a
//! name), `/meeting/{user}/{meeting}` (the old links, joining as `user`), anything else (not
//! found).

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
    /// Join `meeting` under a name typed on the pre-join page.
    #[at("/meeting/:meeting")]
    Invite { meeting: String },
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
        Route::Invite { meeting } => html! { <Meeting user={None::<String>} {meeting} /> },
        Route::Meeting { user, meeting } => html! { <Meeting user={Some(user)} {meeting} /> },
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
