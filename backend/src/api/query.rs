//! [`Query`]: a view's typed query (`shared::query`) read from the query string, or a 400
//! naming the parameter and saying what is allowed. Unknown parameters are refused; empty values
//! count as absent; a parameter given twice adds to a list (and is refused where one value is
//! expected).

use crate::error::AppError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use shared::query::{Checked, QueryError};

/// The typed query of a route.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned + Checked,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parse(parts.uri.query()).map(Query)
    }
}

impl From<QueryError> for AppError {
    fn from(e: QueryError) -> Self {
        AppError::invalid(e.param, e.message)
    }
}

/// Parses `raw` into `T` and checks it.
pub fn parse<T: DeserializeOwned + Checked>(raw: Option<&str>) -> Result<T, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| AppError::invalid("query", "the query string is malformed"))?;
    let accepted = fields::<T>();
    let mut merged: Vec<(String, String)> = Vec::new();
    for (k, v) in pairs {
        if !accepted.contains(&k.as_str()) {
            let message = if accepted.is_empty() {
                "unknown parameter; this route takes none".to_owned()
            } else {
                format!(
                    "unknown parameter; this route accepts: {}",
                    accepted.join(", ")
                )
            };
            return Err(AppError::invalid(k, message));
        }
        if v.is_empty() {
            continue;
        }
        match merged.iter_mut().find(|(m, _)| *m == k) {
            Some((_, joined)) if T::LISTS.contains(&k.as_str()) => {
                joined.push(',');
                joined.push_str(&v);
            }
            Some(_) => {
                return Err(AppError::invalid(
                    k,
                    "given more than once; this parameter takes one value",
                ))
            }
            None => merged.push((k, v)),
        }
    }
    let encoded = serde_urlencoded::to_string(&merged).unwrap_or_default();
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    let value: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let param = e.path().to_string();
        let param = if param == "." { "query".into() } else { param };
        AppError::invalid(param, e.into_inner().to_string())
    })?;
    value.check()?;
    Ok(value)
}

/// A JSON request body, or a 400 saying what was wrong and showing an `example` of the shape.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8], example: &str) -> Result<T, AppError> {
    serde_json::from_slice(bytes)
        .map_err(|e| AppError::invalid("body", format!("{e}; expected JSON like {example}")))
}

/// The parameter names `T` accepts (the fields serde's derive hands its deserializer).
fn fields<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::query::{AnalyticsQuery, LogsQuery, NoQuery, RequestsQuery};

    fn param(e: AppError) -> (String, String) {
        match e {
            AppError::InvalidParam { param, message } => (param, message),
            other => panic!("not a 400: {other}"),
        }
    }

    #[test]
    fn names_the_parameter_and_the_rule() {
        let (p, m) = param(parse::<RequestsQuery>(Some("endpoints=a&limit=500")).unwrap_err());
        assert_eq!((p.as_str(), m.contains("1 to 100")), ("limit", true), "{m}");
        let (p, m) = param(parse::<RequestsQuery>(Some("lmit=5")).unwrap_err());
        assert_eq!(p, "lmit");
        assert!(m.contains("endpoints, from, to"), "{m}");
        let (p, _) =
            param(parse::<AnalyticsQuery>(Some("endpoints=a&from=yesterday")).unwrap_err());
        assert_eq!(p, "from");
        let (p, m) = param(parse::<AnalyticsQuery>(Some("from=now-2h")).unwrap_err());
        assert_eq!((p.as_str(), m.contains("required")), ("endpoints", true));
        let (p, m) =
            param(parse::<AnalyticsQuery>(Some("endpoints=a&timeframe=fortnight")).unwrap_err());
        assert!(p == "timeframe" && m.contains("minute"), "{p}: {m}");
        let (p, _) = param(parse::<NoQuery>(Some("x=1")).unwrap_err());
        assert_eq!(p, "x");
        let (p, m) = param(parse::<LogsQuery>(Some("label=nokey")).unwrap_err());
        assert!(p == "label" && m.contains("key=value"), "{m}");
    }

    #[test]
    fn repeated_lists_merge_and_empty_values_are_absent() {
        let q: LogsQuery = parse(Some("apps=a/b&apps=c/d,a/b&level=warn&from=&cursor=")).unwrap();
        assert_eq!(q.apps.values(), ["a/b", "c/d"]);
        assert_eq!(q.level, Some(shared::logs::LogLevel::Warning));
        assert!(q.from.is_none() && q.cursor.is_none());
        let (p, _) = param(parse::<LogsQuery>(Some("search=a&search=b")).unwrap_err());
        assert_eq!(p, "search", "one value expected");
        let q: AnalyticsQuery =
            parse(Some("endpoints=x%2Fy&from=now-2h&tz=Europe%2FParis")).unwrap();
        assert_eq!(q.endpoints.values(), ["x/y"]);
        assert_eq!(q.tz.as_deref(), Some("Europe/Paris"));
        // A round trip through the browser's serialisation gives the same query.
        let back: AnalyticsQuery = parse(Some(&serde_urlencoded::to_string(&q).unwrap())).unwrap();
        assert_eq!(back, q);
    }
}
