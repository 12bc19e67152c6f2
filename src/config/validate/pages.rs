//! `[pages]` (DESIGN §11): the title, and the files the other keys name, read and checked
//! with [`PagesConfig::load`]. A problem with a file is reported at the key naming it; one
//! inside a template at the template's file and line.

use super::Checker;
use crate::config::errors::{ConfigError, ConfigErrors};
use crate::config::raw::{RawPages, Text};
use crate::config::{PagesConfig, PagesProblem};

impl Checker<'_, '_> {
    /// `[pages]`; the default (the built-in branding) when the table is absent.
    pub(super) fn pages(&mut self, raw: Option<&RawPages>) -> Option<PagesConfig> {
        let Some(raw) = raw else {
            return Some(PagesConfig::default());
        };
        let title = self.optional(raw.title.as_ref(), "pages.title", |checker, text, key| {
            checker
                .non_empty(text, key)
                .map(|title| title.trim().to_owned())
        });
        let logo = self.optional(raw.logo.as_ref(), "pages.logo", Self::file_path);
        let css = self.optional(raw.css.as_ref(), "pages.css", Self::file_path);
        let templates_dir = self.optional(
            raw.templates_dir.as_ref(),
            "pages.templates_dir",
            Self::file_path,
        );
        let complete =
            title.is_some() && logo.is_some() && css.is_some() && templates_dir.is_some();
        // The files of the keys that are right are read even when another key is wrong, so
        // every problem is listed at once.
        let mut pages = PagesConfig {
            title: title.flatten(),
            logo: logo.flatten(),
            css: css.flatten(),
            templates_dir: templates_dir.flatten(),
            files: Default::default(),
        };
        match pages.load() {
            Ok(files) => pages.files = files,
            Err(problems) => {
                for problem in problems {
                    self.pages_problem(raw, problem);
                }
                return None;
            }
        }
        complete.then_some(pages)
    }

    fn pages_problem(&mut self, raw: &RawPages, problem: PagesProblem) {
        let key = format!("pages.{}", problem.key);
        match problem.template {
            Some((path, line)) => self.diagnostics.extend(ConfigErrors::single(ConfigError {
                file: path.display().to_string(),
                line,
                column: 0,
                key,
                message: problem.message,
            })),
            None => {
                let written: Option<&Text> = match problem.key {
                    "logo" => raw.logo.as_ref(),
                    "css" => raw.css.as_ref(),
                    _ => raw.templates_dir.as_ref(),
                };
                let offset = written.map_or(0, |text| text.span().start);
                self.error(offset, &key, problem.message);
            }
        }
    }
}

#[cfg(test)]
mod tests;
