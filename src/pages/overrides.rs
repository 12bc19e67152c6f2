//! Templates of `[pages] templates_dir` in place of the built-in ones of the same name, and
//! their check: each must parse, and every page must render from a sample of its data, so a
//! template that names a variable the page does not have is found at start-up (and by
//! `portcullis check`) rather than by the first person who sees the page. A page whose
//! template still fails later, on data the samples did not cover, gets the minimal fallback
//! page (`Pages::render`).

use minijinja::Error;

use super::problem::TemplateProblem;
use super::{
    Brand, DevAuthorizePage, EchoPage, ErrorPage, LocalForm, Pages, ProviderButton, SignInPage,
    SignOutPage, SignedOutPage, SigningOutPage, TEMPLATES,
};

impl Pages {
    /// The built-in templates with `brand` applied: its title, logo and stylesheet on every
    /// page, its templates in place of the built-in ones of the same name. When it replaces
    /// any, every replacement must parse and every page must render its sample; otherwise
    /// all the problems are returned, not just the first.
    pub(crate) fn branded(brand: &Brand<'_>) -> Result<Pages, Vec<TemplateProblem>> {
        let mut pages = Self::from_templates(TEMPLATES, brand)
            .map_err(|err| vec![TemplateProblem::new(&err, "")])?;
        let mut problems = Vec::new();
        for (name, source) in &brand.templates {
            if let Err(err) = pages
                .env
                .add_template_owned((*name).to_owned(), (*source).to_owned())
            {
                problems.push(TemplateProblem::new(&err, name));
                // The built-in template back in its place, so that the others are still
                // rendered and their problems found in the same run.
                if let Some((name, source)) =
                    TEMPLATES.iter().find(|(built_in, _)| built_in == name)
                {
                    pages
                        .env
                        .add_template(name, source)
                        .map_err(|err| vec![TemplateProblem::new(&err, name)])?;
                }
            }
        }
        if !brand.templates.is_empty() {
            problems.extend(pages.render_samples());
        }
        if problems.is_empty() {
            Ok(pages)
        } else {
            Err(problems)
        }
    }

    /// Renders every page from its sample; each distinct failure once (a broken base
    /// template fails every page alike), naming the first page it failed on.
    fn render_samples(&self) -> Vec<TemplateProblem> {
        let mut problems: Vec<TemplateProblem> = Vec::new();
        let mut seen: Vec<TemplateProblem> = Vec::new();
        let mut check = |page: &str, result: Result<String, Error>| {
            if let Err(err) = result {
                let problem = TemplateProblem::new(&err, page);
                if !seen.contains(&problem) {
                    seen.push(problem.clone());
                    problems.push(TemplateProblem {
                        message: format!("{} (on the sample {page} page)", problem.message),
                        ..problem
                    });
                }
            }
        };
        check("sign_in.html", self.try_render("sign_in.html", &sign_in()));
        check("error.html", self.try_render("error.html", &error()));
        check(
            "signed_out.html",
            self.try_render(
                "signed_out.html",
                &SignedOutPage {
                    sign_in_url: "/oauth2/sign_in".into(),
                    provider: Some("Corp ID".into()),
                },
            ),
        );
        check(
            "sign_out.html",
            self.try_render(
                "sign_out.html",
                &SignOutPage {
                    action: "/oauth2/sign_out".into(),
                    csrf_token: "sample-token".into(),
                    cancel_url: "/".into(),
                },
            ),
        );
        check(
            "signing_out.html",
            self.try_render(
                "signing_out.html",
                &SigningOutPage {
                    next_url: "https://id.example.com/logout".into(),
                },
            ),
        );
        check(
            "dev_authorize.html",
            self.try_render("dev_authorize.html", &dev_authorize()),
        );
        check("echo.html", self.try_render("echo.html", &echo()));
        problems
    }
}

/// Two provider buttons and a local provider's form that answers a failed attempt.
fn sign_in() -> SignInPage {
    let button = |id: &str, name: &str, logo: &str| ProviderButton {
        id: id.into(),
        name: name.into(),
        start_url: format!("/oauth2/start?provider={id}&rd=%2F"),
        logo: logo.into(),
    };
    SignInPage {
        providers: vec![
            button("google", "Google", "google.svg"),
            button("corp", "Corp ID", "key.svg"),
        ],
        local_forms: vec![LocalForm {
            id: "staff".into(),
            name: "Staff accounts".into(),
            action: "/oauth2/local/staff".into(),
            csrf_token: "sample-token".into(),
            rd: "/".into(),
            username: "alice".into(),
            error: Some("Incorrect username or password".into()),
        }],
        request_id: "sample-request-id".into(),
    }
}

fn error() -> ErrorPage {
    ErrorPage {
        status: 403,
        title: "Access denied".into(),
        message: "You are signed in, but this site does not let you in.".into(),
        request_id: "sample-request-id".into(),
        retry_url: Some("/oauth2/start?provider=sample&rd=%2F&prompt=select_account".into()),
        retry_label: "Sign in with a different account".into(),
        account: Some("alice@example.org".into()),
        sign_in_url: Some("/oauth2/sign_in".into()),
    }
}

fn dev_authorize() -> DevAuthorizePage {
    DevAuthorizePage {
        action: "/oauth2/dev/authorize".into(),
        hidden: vec![("state".into(), "sample-state".into())],
        client_id: "portcullis".into(),
        default_email: "dev@example.com".into(),
    }
}

fn echo() -> EchoPage {
    EchoPage {
        method: "GET".into(),
        uri: "/".into(),
        identity: vec![("x-forwarded-user".into(), "alice".into())],
        headers: vec![("host".into(), "app.example.com".into())],
    }
}

#[cfg(test)]
mod tests;
