//! Prometheus text exposition format (0.0.4): a strict parser for fal's metrics and a writer
//! used by the simulator and by falscope's own `/metrics`.
//!
//! Written here rather than taken from `prometheus-parse`: that crate matches label sets with a
//! regex (`[^}]+`) and so mis-reads label values containing `}` or escaped quotes, and it drags
//! regex into the binary; the format is small enough to parse exactly.

use std::fmt::Write as _;

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub name: String,
    /// Label pairs in the order they appeared.
    pub labels: Vec<(String, String)>,
    /// Sample value (`+Inf`, `-Inf` and `NaN` included).
    pub value: f64,
}

impl Sample {
    /// The value of label `key`, if present.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a line could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub reason: &'static str,
}

/// Parses an exposition body into its samples; `# HELP`/`# TYPE` and comments are skipped.
/// Every sample of `text` that parses, and what was wrong with each line that does not: one
/// line fal writes in a way falscope does not expect costs that line, not the scrape.
pub fn parse_lenient(text: &str) -> (Vec<Sample>, Vec<ParseError>) {
    let (mut samples, mut errors) = (Vec::new(), Vec::new());
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_sample(line) {
            Ok(s) => samples.push(s),
            Err(reason) => errors.push(ParseError {
                line: index + 1,
                reason,
            }),
        }
    }
    (samples, errors)
}

/// Every sample of `text`; the first line that does not parse fails the whole text.
pub fn parse(text: &str) -> Result<Vec<Sample>, ParseError> {
    let mut samples = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |reason| ParseError {
            line: index + 1,
            reason,
        };
        samples.push(parse_sample(line).map_err(err)?);
    }
    Ok(samples)
}

fn parse_sample(line: &str) -> Result<Sample, &'static str> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("invalid metric name");
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = parse_labels(after, &mut labels)?;
    }
    let mut fields = rest.split_ascii_whitespace();
    let value = fields.next().ok_or("missing value")?;
    let value = parse_value(value).ok_or("invalid value")?;
    // An optional timestamp may follow; fal sends none and we do not use it.
    if fields.nth(1).is_some() {
        return Err("trailing data after timestamp");
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Parses `k="v",k2="v2"}` and returns what follows the closing brace.
fn parse_labels<'a>(
    mut s: &'a str,
    out: &mut Vec<(String, String)>,
) -> Result<&'a str, &'static str> {
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Ok(rest);
        }
        let eq = s.find('=').ok_or("label without '='")?;
        let key = s[..eq].trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err("invalid label name");
        }
        s = s[eq + 1..]
            .trim_start()
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    _ => return Err("invalid escape in label value"),
                },
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value"),
            }
        };
        out.push((key.to_owned(), value));
        s = s[end + 1..].trim_start();
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Builds an exposition body family by family.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
}

/// Prometheus metric types falscope emits.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A monotonically increasing count (name ends in `_total`).
    Counter,
}

impl Writer {
    /// An empty body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, help: &str, kind: Kind) -> &mut Self {
        let kind = match kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self
    }

    /// One sample of the current family.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.out, "{k}=\"{v}\"");
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", format_value(value));
        self
    }

    /// The finished body.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Formats a value the way Prometheus clients do (`+Inf`, integers without a fraction).
pub fn format_value(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if v.is_nan() {
        "NaN".to_owned()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_escaped_labels_and_infinity() {
        let mut w = Writer::new();
        w.family("m", "help", Kind::Gauge).sample(
            "m",
            &[("a", "x}\"y\\z"), ("le", "+Inf")],
            f64::INFINITY,
        );
        let body = w.finish();
        let samples = parse(&body).unwrap();
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].label("a"), Some("x}\"y\\z"));
        assert!(samples[0].value.is_infinite());
    }

    #[test]
    fn rejects_garbage_with_its_line_number() {
        let err = parse("# HELP x y\nok 1\nbad{a=b} 1\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(parse("x 1 123 extra").is_err());
        assert!(parse("x{a=\"1\"} notanumber").is_err());
    }

    #[test]
    fn parses_fal_reference_sample() {
        let body = "# HELP fal_app_runners Number of fal app runners\n# TYPE fal_app_runners gauge\nfal_app_runners{application=\"my/app\",machine_type=\"NVIDIA B200\",state=\"running\"} 21\nfal_app_request_latency{application=\"my/app\",le=\"1.0\"} 5\n";
        let s = parse(body).unwrap();
        assert_eq!(s[0].label("machine_type"), Some("NVIDIA B200"));
        assert_eq!(s[0].value, 21.0);
        assert_eq!(s[1].label("le"), Some("1.0"));
    }
}
