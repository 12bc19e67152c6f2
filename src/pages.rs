//! The HTML pages people see (sign-in, error, sign-out confirmation, signed-out, the
//! development provider's form, the echo upstream) and the static assets they use, all
//! embedded in the binary.
//!
//! Templates live in `templates/` and are rendered with minijinja, HTML autoescaping on.
//! The pages carry no inline script or style, so they work under the strict
//! Content-Security-Policy the gateway sends (`default-src 'none'; style-src 'self';
//! img-src 'self'`); all styling comes from `/oauth2/static/portcullis.css`, then the
//! configured `[pages] css` (`brand`).
//! Rendering never fails: a template error is logged and a minimal escaped page is
//! returned instead. Templates that replace the built-in ones are rendered once with sample
//! pages when the renderer is built (`overrides`), so their mistakes are found at start-up.

mod assets;
mod brand;
mod overrides;
mod problem;

use assets::static_asset;
pub(crate) use brand::Brand;
pub(crate) use problem::TemplateProblem;

use axum::body::Bytes;
use minijinja::{AutoEscape, Environment, Error, Output, State, UndefinedBehavior, Value};
use serde::Serialize;

use brand::BrandAssets;

/// Every template, by the name the others `{% extends %}` it with.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    ("error.html", include_str!("../templates/error.html")),
    (
        "signed_out.html",
        include_str!("../templates/signed_out.html"),
    ),
    ("sign_out.html", include_str!("../templates/sign_out.html")),
    (
        "signing_out.html",
        include_str!("../templates/signing_out.html"),
    ),
    (
        "dev_authorize.html",
        include_str!("../templates/dev_authorize.html"),
    ),
    ("echo.html", include_str!("../templates/echo.html")),
];

/// The names of the built-in templates: the only names a `[pages] templates_dir` file may
/// have.
pub(crate) fn template_names() -> impl Iterator<Item = &'static str> {
    TEMPLATES.iter().map(|(name, _)| *name)
}

/// The page renderer: one template environment, built once at start-up and shared, and the
/// brand's files it serves.
#[derive(Clone, Debug)]
pub(crate) struct Pages {
    env: Environment<'static>,
    brand: BrandAssets,
}

/// One button on the sign-in page.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ProviderButton {
    /// The provider id, as in `/oauth2/start?provider=ID`.
    pub(crate) id: String,
    /// The label shown to people ("Sign in with {name}").
    pub(crate) name: String,
    /// Where the button leads: `/oauth2/start?provider=ID&rd=…`.
    pub(crate) start_url: String,
    /// The provider's logo, a file under `/oauth2/static/` (`google.svg`).
    pub(crate) logo: String,
}

/// `/oauth2/sign_in`: one button per configured provider, one username/password form per
/// local provider.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct SignInPage {
    pub(crate) providers: Vec<ProviderButton>,
    pub(crate) local_forms: Vec<LocalForm>,
    pub(crate) request_id: String,
}

/// A local provider's sign-in form: it POSTs `username`, `password`, the hidden `csrf_token`
/// and `rd` to `action` (`/oauth2/local/{id}`).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LocalForm {
    pub(crate) id: String,
    /// The form's heading.
    pub(crate) name: String,
    pub(crate) action: String,
    pub(crate) csrf_token: String,
    pub(crate) rd: String,
    /// The username typed before, when the page answers a failed attempt.
    pub(crate) username: String,
    /// Why the previous attempt failed ("Incorrect username or password").
    pub(crate) error: Option<String>,
}

/// Any error shown to a person: status, a short title, an explanation and the request id
/// that ties the page to the log line.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ErrorPage {
    pub(crate) status: u16,
    pub(crate) title: String,
    pub(crate) message: String,
    pub(crate) request_id: String,
    /// When set, a "Try again" link (for example back to the sign-in page).
    pub(crate) retry_url: Option<String>,
    /// The retry link's label: "Try again", or "Sign in with a different account".
    pub(crate) retry_label: String,
    /// The account a denied sign-in was refused for ("Signed in as …").
    pub(crate) account: Option<String>,
    /// When set, a second link, back to the sign-in page.
    pub(crate) sign_in_url: Option<String>,
}

/// `/oauth2/signed_out`: the post-logout landing page.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct SignedOutPage {
    pub(crate) sign_in_url: String,
    /// The provider's name when the browser came back from its end-session endpoint with
    /// the `state` this browser's sign-out sent (`flow::logout_return`), else none.
    pub(crate) provider: Option<String>,
}

/// `/oauth2/sign_out` asked from another site: "Sign out?", with a button that POSTs to
/// `action` with the hidden `csrf_token`, and a way back.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct SignOutPage {
    pub(crate) action: String,
    pub(crate) csrf_token: String,
    pub(crate) cancel_url: String,
}

/// After the sign-out page's button: the session is gone, and the browser moves on to
/// `next_url` (the provider's end-session endpoint) by a `<meta http-equiv="refresh">`,
/// since the CSP's `form-action 'self'` forbids the form's POST to redirect off-site.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct SigningOutPage {
    pub(crate) next_url: String,
}

/// The embedded development provider's "sign in as" form. The form POSTs to `action` with
/// the hidden fields and the inputs `email`, `name`, `groups` (comma separated).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct DevAuthorizePage {
    pub(crate) action: String,
    pub(crate) hidden: Vec<(String, String)>,
    pub(crate) client_id: String,
    pub(crate) default_email: String,
}

/// The built-in echo upstream: shows the request exactly as an upstream app would receive it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct EchoPage {
    pub(crate) method: String,
    pub(crate) uri: String,
    /// The identity headers the gateway set (`X-Forwarded-User`, …), shown first.
    pub(crate) identity: Vec<(String, String)>,
    /// Every other header, as received.
    pub(crate) headers: Vec<(String, String)>,
}

impl Pages {
    /// The built-in pages, unbranded; an error here is a bug in a template.
    #[cfg(test)]
    pub(crate) fn new() -> Result<Pages, Error> {
        Self::from_templates(TEMPLATES, &Brand::default())
    }

    fn from_templates(
        templates: &[(&'static str, &'static str)],
        brand: &Brand<'_>,
    ) -> Result<Pages, Error> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_formatter(html_formatter);
        for (name, source) in templates {
            env.add_template(name, source)?;
        }
        let brand = BrandAssets::new(brand);
        env.add_global("brand", Value::from_serialize(brand.context()));
        Ok(Pages { env, brand })
    }

    /// A file under `/oauth2/static/`, by its path below that prefix: the brand's logo and
    /// stylesheet when configured, else an embedded file ([`static_asset`]).
    pub(crate) fn static_file(&self, path: &str) -> Option<(&'static str, Bytes)> {
        self.brand.file(path).or_else(|| {
            static_asset(path)
                .map(|(content_type, bytes)| (content_type, Bytes::from_static(bytes)))
        })
    }

    /// The sign-in page, one button per provider.
    pub(crate) fn sign_in(&self, page: &SignInPage) -> String {
        self.render("sign_in.html", page, || {
            let buttons: String = page
                .providers
                .iter()
                .map(|p| {
                    format!(
                        "<li><a href=\"{}\">Sign in with {}</a></li>",
                        escape_html(&p.start_url),
                        escape_html(&p.name)
                    )
                })
                .collect();
            let forms: String = page
                .local_forms
                .iter()
                .map(|f| {
                    format!(
                        "<form method=\"post\" action=\"{}\"><p>{}</p>\
                         <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
                         <input type=\"hidden\" name=\"rd\" value=\"{}\">\
                         <input name=\"username\" value=\"{}\" required>\
                         <input name=\"password\" type=\"password\" required>\
                         <button type=\"submit\">Sign in</button></form>",
                        escape_html(&f.action),
                        escape_html(f.error.as_deref().unwrap_or(&f.name)),
                        escape_html(&f.csrf_token),
                        escape_html(&f.rd),
                        escape_html(&f.username),
                    )
                })
                .collect();
            self.fallback_html(
                "Sign in",
                &format!(
                    "<ul>{buttons}</ul>{forms}<p>Request ID: {}</p>",
                    escape_html(&page.request_id)
                ),
            )
        })
    }

    /// An error page with its status, message and request id.
    pub(crate) fn error(&self, page: &ErrorPage) -> String {
        self.render("error.html", page, || {
            let link = |url: &Option<String>, label: &str| {
                url.as_deref()
                    .map(|url| {
                        format!(
                            "<p><a href=\"{}\">{}</a></p>",
                            escape_html(url),
                            escape_html(label)
                        )
                    })
                    .unwrap_or_default()
            };
            let account = page
                .account
                .as_deref()
                .map(|account| format!("<p>Signed in as {}</p>", escape_html(account)))
                .unwrap_or_default();
            let retry = link(&page.retry_url, &page.retry_label);
            let sign_in = link(&page.sign_in_url, "Back to the sign-in page");
            self.fallback_html(
                &page.title,
                &format!(
                    "<p>Error {}</p><p>{}</p>{account}{retry}{sign_in}<p>Request ID: {}</p>",
                    page.status,
                    escape_html(&page.message),
                    escape_html(&page.request_id)
                ),
            )
        })
    }

    /// The page shown after sign-out.
    pub(crate) fn signed_out(&self, page: &SignedOutPage) -> String {
        self.render("signed_out.html", page, || {
            let provider = page
                .provider
                .as_deref()
                .map(|name| format!("<p>You were signed out at {} too.</p>", escape_html(name)))
                .unwrap_or_default();
            self.fallback_html(
                "You are signed out",
                &format!(
                    "{provider}<p><a href=\"{}\">Sign in again</a></p>",
                    escape_html(&page.sign_in_url)
                ),
            )
        })
    }

    /// The sign-out confirmation page.
    pub(crate) fn sign_out(&self, page: &SignOutPage) -> String {
        self.render("sign_out.html", page, || {
            self.fallback_html(
                "Sign out?",
                &format!(
                    "<form method=\"post\" action=\"{}\">\
                     <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
                     <button type=\"submit\">Sign out</button></form>\
                     <p><a href=\"{}\">Stay signed in</a></p>",
                    escape_html(&page.action),
                    escape_html(&page.csrf_token),
                    escape_html(&page.cancel_url)
                ),
            )
        })
    }

    /// The page between the sign-out button and the provider's end-session endpoint.
    pub(crate) fn signing_out(&self, page: &SigningOutPage) -> String {
        self.render("signing_out.html", page, || {
            self.fallback_html(
                "Signing out",
                &format!(
                    "<p><a href=\"{}\">Continue</a></p>",
                    escape_html(&page.next_url)
                ),
            )
        })
    }

    /// The development provider's "sign in as" form.
    pub(crate) fn dev_authorize(&self, page: &DevAuthorizePage) -> String {
        self.render("dev_authorize.html", page, || {
            let hidden: String = page
                .hidden
                .iter()
                .map(|(name, value)| {
                    format!(
                        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                        escape_html(name),
                        escape_html(value)
                    )
                })
                .collect();
            self.fallback_html(
                "Development provider — not for production use",
                &format!(
                    "<form method=\"post\" action=\"{}\">{hidden}\
                     <label>Email <input name=\"email\" type=\"email\" value=\"{}\" required></label>\
                     <label>Name <input name=\"name\"></label>\
                     <label>Groups <input name=\"groups\"></label>\
                     <button type=\"submit\">Sign in</button></form>",
                    escape_html(&page.action),
                    escape_html(&page.default_email)
                ),
            )
        })
    }

    /// The echo upstream's page: the request line and every header received.
    pub(crate) fn echo(&self, page: &EchoPage) -> String {
        self.render("echo.html", page, || {
            let mut text = format!("{} {}\n", page.method, page.uri);
            for (name, value) in page.identity.iter().chain(&page.headers) {
                text.push_str(&format!("{name}: {value}\n"));
            }
            self.fallback_html("Echo", &format!("<pre>{}</pre>", escape_html(&text)))
        })
    }

    fn render<S: Serialize>(
        &self,
        template: &str,
        page: &S,
        fallback: impl FnOnce() -> String,
    ) -> String {
        match self.try_render(template, page) {
            Ok(html) => html,
            Err(err) => {
                tracing::error!(template, error = %err, "page template failed to render; serving the fallback page");
                fallback()
            }
        }
    }

    fn try_render<S: Serialize>(&self, template: &str, page: &S) -> Result<String, Error> {
        self.env
            .get_template(template)
            .and_then(|tmpl| tmpl.render(page))
    }

    /// The page served when a template fails: no styling beyond the stylesheets, `body` is
    /// already escaped HTML.
    fn fallback_html(&self, title: &str, body: &str) -> String {
        let title = escape_html(title);
        let product = escape_html(&self.brand.title);
        let brand_css = self
            .brand
            .css_url()
            .map(|url| format!("<link rel=\"stylesheet\" href=\"{url}\">"))
            .unwrap_or_default();
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} · {product}</title>\
             <link rel=\"stylesheet\" href=\"/oauth2/static/portcullis.css\">{brand_css}</head>\
             <body><main class=\"card\"><h1>{title}</h1>{body}</main></body></html>\n"
        )
    }
}

/// Autoescaping that escapes the five characters HTML needs (`& < > " '`) and leaves `/`
/// alone, so URLs in the pages read as written. Everything else goes to minijinja's default.
fn html_formatter(out: &mut Output<'_>, state: &State<'_, '_>, value: &Value) -> Result<(), Error> {
    if state.auto_escape() == AutoEscape::Html && !value.is_safe() {
        if let Some(text) = value.as_str() {
            return out.write_str(&escape_html(text)).map_err(Error::from);
        }
    }
    minijinja::escape_formatter(out, state, value)
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests;
