//! What the gateway tells its operators: `server.log_format` and `[telemetry]` (DESIGN §11).

use toml::Spanned;
use url::Url;

use super::{Checker, Str};
use crate::config::raw::{RawTelemetry, Text};
use crate::config::{LogFormat, TelemetryConfig};

/// The `service.name` of the spans when `service_name` is not given.
const DEFAULT_SERVICE_NAME: &str = "portcullis";

/// The path of the traces endpoint under an OTLP/HTTP base URL (OTLP specification,
/// "OTLP/HTTP Request": `/v1/traces`).
const TRACES_PATH: &str = "v1/traces";

impl Checker<'_, '_> {
    /// `server.log_format`: `"text"` or `"json"`; `Some(None)` when absent.
    pub(super) fn log_format(&mut self, raw: Option<&Text>) -> Option<Option<LogFormat>> {
        self.optional(raw, "server.log_format", |this, text, key| {
            match text.value.as_str() {
                "text" => Some(LogFormat::Text),
                "json" => Some(LogFormat::Json),
                other => {
                    this.error(
                        text.offset,
                        key,
                        format!(
                            "`{other}` is not a log format: write \"text\" (the default) or \
                             \"json\" (one JSON object per line)"
                        ),
                    );
                    None
                }
            }
        })
    }

    /// `[telemetry]`: `Some(None)` when the section is absent (no traces are sent).
    pub(super) fn telemetry(
        &mut self,
        raw: Option<&RawTelemetry>,
    ) -> Option<Option<TelemetryConfig>> {
        let Some(raw) = raw else {
            return Some(None);
        };
        let traces_url = self
            .required(
                raw.otlp_endpoint.as_ref(),
                "telemetry",
                "telemetry.otlp_endpoint",
                "`otlp_endpoint` is required in [telemetry]: the OTLP/HTTP address of an \
                 OpenTelemetry collector, like \"http://127.0.0.1:4318\"",
            )
            .and_then(|text| self.otlp_endpoint(&text));
        let sample_ratio = self.sample_ratio(raw.sample_ratio.as_ref());
        let service_name = self.optional(
            raw.service_name.as_ref(),
            "telemetry.service_name",
            |this, text, key| this.non_empty(text, key),
        );
        Some(Some(TelemetryConfig {
            traces_url: traces_url?,
            sample_ratio: sample_ratio?,
            service_name: service_name?.unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned()),
        }))
    }

    /// The traces URL of `otlp_endpoint`: an `http://` or `https://` base URL, `/v1/traces`
    /// added unless it ends so already.
    fn otlp_endpoint(&mut self, text: &Str) -> Option<Url> {
        let mut url = self.web_url(text, "telemetry.otlp_endpoint")?;
        let path = url.path().trim_end_matches('/').to_owned();
        if !path.ends_with("/v1/traces") {
            url.set_path(&format!("{path}/{TRACES_PATH}"));
        }
        Some(url)
    }

    fn sample_ratio(&mut self, raw: Option<&Spanned<f64>>) -> Option<f64> {
        let Some(raw) = raw else {
            return Some(1.0);
        };
        let ratio = *raw.get_ref();
        if (0.0..=1.0).contains(&ratio) {
            return Some(ratio);
        }
        self.error(
            raw.span().start,
            "telemetry.sample_ratio",
            format!(
                "`{ratio}` is not a ratio: write a number from 0 (no new trace is recorded) to 1 \
                 (every one is, the default), like 0.1"
            ),
        );
        None
    }
}

#[cfg(test)]
mod tests;
