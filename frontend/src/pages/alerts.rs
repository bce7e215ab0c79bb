//! `/alerts`: every rule of the workspace with its state (firing first), a form for new rules
//! (operators), the webhooks with "Send test", and the history of firings.

use crate::api;
use crate::components::{Column, ErrorPanel, Loading, Table};
use crate::format;
use crate::state::{self, use_config, use_view};
use leptos::prelude::*;
use shared::alerts::draft::{RuleDraft, RuleKind};
use shared::alerts::{
    AlertEvent, AlertRule, AlertState, AlertsView, AnomalyMetric, Condition, RuleSource,
    RuleStatus, ThresholdMetric,
};
use shared::analytics::FailureType;
use shared::auth::Role;

/// How often the page looks again (the backend evaluates every 30 s by default).
const REFRESH_SECONDS: u32 = 15;

/// The alerts page.
#[component]
pub fn AlertsPage() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let tick = state::use_tick(|| REFRESH_SECONDS);
    let changed = RwSignal::new(0u32);
    let role = state::use_role(config);
    let ws = state::use_workspace(config, view);
    let alerts = LocalResource::new(move || {
        let param = view.get("ws");
        tick.track();
        changed.track();
        async move { api::get_alerts(&state::workspace(config, param).await?).await }
    });
    let apps = LocalResource::new(move || {
        let param = view.get("ws");
        async move { api::get_apps(&state::workspace(config, param).await?).await }
    });
    let operator = Signal::derive(move || role.get() >= Role::Operator);
    // The rule being edited in the form (none: the form makes a new one).
    let editing = RwSignal::new(None::<AlertRule>);
    view! {
        <div class="page-head"><h1>"Alerts"</h1></div>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match alerts.await {
                    Ok(v) => view! { <Rules view=v ws=ws operator=operator changed=changed editing=editing /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error=error /> }.into_any(),
                }
            })}
        </Suspense>
        <Show when=move || operator.get()>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let names: Vec<String> = apps.await.map(|a| a.data.into_iter().map(|a| a.name).collect()).unwrap_or_default();
                    view! { <NewRuleForm apps=names ws=ws changed=changed editing=editing /> }
                })}
            </Suspense>
        </Show>
    }
}

/// Firing first, then pending, resolved, inactive.
fn urgency(state: AlertState) -> u8 {
    match state {
        AlertState::Firing => 0,
        AlertState::Pending => 1,
        AlertState::Resolved => 2,
        AlertState::Inactive => 3,
    }
}

fn badge(state: AlertState) -> impl IntoView {
    let class = match state {
        AlertState::Firing => "badge firing",
        AlertState::Pending => "badge pending",
        AlertState::Resolved => "badge resolved",
        AlertState::Inactive => "badge inactive",
    };
    view! { <span class=class>{state.as_str()}</span> }
}

/// A rule's condition in words.
pub fn describe(c: &Condition, for_minutes: u32) -> String {
    let base = match c {
        Condition::Threshold {
            metric,
            above,
            window_minutes,
            min_requests,
            failure,
        } => {
            let value = match metric {
                ThresholdMetric::ErrorRate => format::percent(*above),
                _ => format!("{above}"),
            };
            let window = match metric {
                ThresholdMetric::ErrorRate | ThresholdMetric::P90Latency => {
                    format!(" over {window_minutes} min (≥ {min_requests} requests)")
                }
                ThresholdMetric::SpendPerDay => " over the last 24 h".to_owned(),
                ThresholdMetric::QueueSize => String::new(),
            };
            let name = match failure {
                Some(kind) if *metric == ThresholdMetric::ErrorRate => {
                    format!("rate of {}", kind.label())
                }
                _ => metric.label().to_owned(),
            };
            format!("{name} above {value}{window}")
        }
        Condition::QueueGrowing { minutes } => format!("queue growing for {minutes} min"),
        Condition::OverBudgetPace => "spending faster than the monthly budget allows".to_owned(),
        Condition::Anomaly {
            metric,
            lookback_hours,
            sensitivity,
        } => format!(
            "{} above {sensitivity} MADs of the last {lookback_hours} h's median",
            metric.label()
        ),
        Condition::Sla { endpoint } => format!("{endpoint} misses its SLA"),
        Condition::LowCredits { below, runway_days } => {
            let parts: Vec<String> = below
                .map(|b| format!("credits below {b}"))
                .into_iter()
                .chain(runway_days.map(|d| format!("runway under {d} days")))
                .collect();
            parts.join(" or ")
        }
    };
    if for_minutes > 0 {
        format!("{base}, for {for_minutes} min")
    } else {
        base
    }
}

#[component]
fn Rules(
    view: AlertsView,
    ws: Signal<Option<String>>,
    operator: Signal<bool>,
    changed: RwSignal<u32>,
    editing: RwSignal<Option<AlertRule>>,
) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let actions = move |r: &RuleStatus| {
        if r.rule.source == RuleSource::File {
            return view! { <span class="meta" title="Defined in --alerts-file">"file"</span> }
                .into_any();
        }
        let (id, rule) = (r.rule.id.clone(), r.rule.clone());
        let edit = move |_| {
            editing.set(Some(rule.clone()));
            if let Some(form) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id("new-rule"))
            {
                form.scroll_into_view();
            }
        };
        let delete = move |_| {
            let (Some(ws), id) = (ws.get_untracked(), id.clone()) else {
                return;
            };
            leptos::task::spawn_local(async move {
                match api::delete_rule(&ws, &id).await {
                    Ok(()) => changed.update(|n| *n += 1),
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        };
        view! {
            <Show when=move || operator.get()>
                <button class="small-button edit-rule" on:click=edit.clone()>"Edit"</button>
                " "
                <button class="small-button" on:click=delete.clone()>"Delete"</button>
            </Show>
        }
        .into_any()
    };
    let columns = vec![
        Column::new("State", |r: &RuleStatus| badge(r.state).into_any())
            .sort(|a, b| urgency(a.state).cmp(&urgency(b.state))),
        Column::new("Rule", |r: &RuleStatus| r.rule.name.clone().into_any())
            .sort(|a, b| a.rule.name.cmp(&b.rule.name)),
        Column::new("App", |r: &RuleStatus| {
            r.rule
                .app
                .clone()
                .unwrap_or_else(|| "all apps".into())
                .into_any()
        }),
        Column::new("Condition", |r: &RuleStatus| {
            describe(&r.rule.condition, r.rule.for_minutes).into_any()
        }),
        Column::new("Last evaluation", |r: &RuleStatus| {
            r.detail.clone().into_any()
        })
        .class(|_| "detail"),
        Column::new("Since", |r: &RuleStatus| {
            r.since.map(format::datetime).unwrap_or_default().into_any()
        }),
        Column::new("", actions),
    ];
    let webhooks = view.webhooks.clone();
    let no_hooks = webhooks.is_empty();
    let results = RwSignal::new(Vec::<shared::alerts::DeliveryResult>::new());
    let sending = RwSignal::new(false);
    let send_test = move |_| {
        let Some(ws) = ws.get_untracked() else { return };
        sending.set(true);
        results.set(Vec::new());
        leptos::task::spawn_local(async move {
            match api::send_test(&ws).await {
                Ok(r) => results.set(r),
                Err(e) => error.set(Some(e.to_string())),
            }
            sending.set(false);
        });
    };
    view! {
        <p class="meta">{format!("Evaluated every {} s on the data falscope already caches ({} evaluations so far).", view.evaluate_every_seconds, view.evaluations)}</p>
        {move || error.get().map(|e| view! { <p class="status warn">{e}</p> })}
        <section class="panel">
            <h2>"Rules"</h2>
            <Table id="alert-rules" columns=columns rows=view.rules empty="No rules yet. Add one below, or in --alerts-file."
                row_class=|r: &RuleStatus| format!("rule {}", r.state.as_str()) />
        </section>
        <section class="panel">
            <div class="panel-head">
                <h2>"Notifications"</h2>
                <span class="spacer"></span>
                <Show when=move || operator.get() && !no_hooks>
                    <button id="send-test" on:click=send_test disabled=move || sending.get()>
                        {move || if sending.get() { "Sending…" } else { "Send test" }}
                    </button>
                </Show>
            </div>
            {if webhooks.is_empty() {
                view! { <p class="meta">"No webhooks: add [[webhook]] entries to --alerts-file (generic JSON signed with HMAC-SHA256, or Slack)."</p> }.into_any()
            } else {
                view! {
                    <ul class="webhooks">
                        {webhooks.into_iter().map(|w| view! { <li><strong>{w.name}</strong>" · "{w.format}" → "{w.host}</li> }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <ul id="test-results">
                {move || results.get().into_iter().map(|r| {
                    let class = if r.ok { "status ok" } else { "status warn" };
                    view! { <li class=class>{format!("{}: {} after {} attempt(s) — {}", r.webhook, if r.ok { "delivered" } else { "failed" }, r.attempts, r.detail)}</li> }
                }).collect_view()}
            </ul>
        </section>
        <History events=view.history />
    }
}

#[component]
fn History(events: Vec<AlertEvent>) -> impl IntoView {
    let columns = vec![
        Column::new("When", |e: &AlertEvent| format::datetime(e.at).into_any()),
        Column::new("State", |e: &AlertEvent| badge(e.state).into_any()),
        Column::new("Rule", |e: &AlertEvent| e.rule_name.clone().into_any())
            .sort(|a, b| a.rule_name.cmp(&b.rule_name)),
        Column::new("What was measured", |e: &AlertEvent| {
            e.detail.clone().into_any()
        })
        .class(|_| "detail"),
    ];
    view! {
        <section class="panel">
            <h2>"History"</h2>
            <Table id="alert-history" columns=columns rows=events empty="Nothing has fired yet." />
        </section>
    }
}

/// A text field of the rule form bound to one field of the draft. Typed text is kept as
/// typed (a number input would re-render `0.` as `0` and lose the decimal point); it is parsed
/// on submit.
fn draft_field(
    draft: RwSignal<RuleDraft>,
    id: &'static str,
    label: impl Fn() -> String + Send + Sync + 'static,
    hint: &'static str,
    field: fn(&mut RuleDraft) -> &mut String,
) -> impl IntoView {
    view! {
        <label>{label}
            <input id=id type="text" inputmode=if id == "rule-endpoint" { "text" } else { "decimal" } autocomplete="off" title=hint
                prop:value=move || draft.with(|d| field(&mut d.clone()).clone())
                on:input=move |ev| draft.update(|d| *field(d) = event_target_value(&ev)) />
        </label>
    }
}

#[component]
fn NewRuleForm(
    apps: Vec<String>,
    ws: Signal<Option<String>>,
    changed: RwSignal<u32>,
    editing: RwSignal<Option<AlertRule>>,
) -> impl IntoView {
    let draft = RwSignal::new(RuleDraft::default());
    let error = RwSignal::new(None::<String>);
    // Editing a rule fills the form with its settings.
    Effect::new(move |_| {
        if let Some(r) = editing.get() {
            draft.set(RuleDraft::of(&r));
        }
    });
    let reset = move || {
        draft.set(RuleDraft::default());
        editing.set(None);
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(ws) = ws.get_untracked() else { return };
        let rule = match draft.with_untracked(RuleDraft::parse) {
            Ok(r) => r,
            Err((field, what)) => return error.set(Some(format!("{field}: {what}"))),
        };
        let id = editing.get_untracked().map(|r| r.id);
        leptos::task::spawn_local(async move {
            let saved = match &id {
                Some(id) => api::update_rule(&ws, id, &rule).await,
                None => api::create_rule(&ws, &rule).await,
            };
            match saved {
                Ok(_) => {
                    error.set(None);
                    reset();
                    changed.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let kind = move || draft.with(|d| d.kind);
    let is = move |k: RuleKind| move || kind() == k;
    let windowed = move || kind() == RuleKind::Threshold && draft.with(|d| d.metric.uses_window());
    view! {
        <section class="panel">
            <h2>{move || if editing.get().is_some() { "Edit rule" } else { "New rule" }}</h2>
            <form id="new-rule" class="rule-form" on:submit=submit novalidate>
                <label>"Name"
                    <input id="rule-name" type="text" required maxlength="80" placeholder="e.g. Queue backing up"
                        prop:value=move || draft.with(|d| d.name.clone())
                        on:input=move |ev| draft.update(|d| d.name = event_target_value(&ev)) />
                </label>
                // Model SLAs and credits are not about an app.
                <label class:hidden=move || matches!(kind(), RuleKind::Sla | RuleKind::LowCredits)>"App"
                    <select id="rule-app" prop:value=move || draft.with(|d| d.app.clone())
                        on:change=move |ev| draft.update(|d| d.app = event_target_value(&ev))>
                        <option value="">"All apps"</option>
                        {apps.into_iter().map(|a| view! { <option value=a.clone()>{a.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Kind"
                    <select id="rule-kind" prop:value=move || kind().as_str()
                        on:change=move |ev| {
                            if let Some(k) = RuleKind::parse(&event_target_value(&ev)) {
                                draft.update(|d| d.kind = k);
                            }
                        }>
                        {RuleKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                    </select>
                </label>
                <Show when=is(RuleKind::Threshold)>
                    <label>"Metric"
                        <select id="rule-metric" prop:value=move || draft.with(|d| d.metric.as_str())
                            on:change=move |ev| {
                                if let Some(m) = ThresholdMetric::parse(&event_target_value(&ev)) {
                                    draft.update(|d| d.pick_metric(m));
                                }
                            }>
                            {ThresholdMetric::ALL.iter().map(|m| view! { <option value=m.as_str()>{m.label()}</option> }).collect_view()}
                        </select>
                    </label>
                    {draft_field(draft, "rule-above", move || format!("Fires above ({})", draft.with(|d| d.metric.unit())), "the rule fires when the metric is above this", |d| &mut d.above)}
                </Show>
                <Show when=move || kind() == RuleKind::Threshold && draft.with(|d| d.metric == ThresholdMetric::ErrorRate)>
                    <label>"Failure type"
                        <select id="rule-failure" prop:value=move || draft.with(|d| d.failure.map_or("", |k| k.as_str()))
                            on:change=move |ev| {
                                let v = event_target_value(&ev);
                                draft.update(|d| d.failure = FailureType::ALL.into_iter().find(|k| k.as_str() == v));
                            }>
                            <option value="">"any 5xx"</option>
                            {FailureType::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                        </select>
                    </label>
                </Show>
                <Show when=windowed>
                    {draft_field(draft, "rule-window", || "Window (min)".into(), "the requests of this many minutes are judged", |d| &mut d.window)}
                    {draft_field(draft, "rule-min-requests", || "Min. requests".into(), "fewer requests in the window: not judged", |d| &mut d.min_requests)}
                </Show>
                <Show when=is(RuleKind::QueueGrowing)>
                    {draft_field(draft, "rule-minutes", || "Growing for (min)".into(), "the queue never fell and ended higher", |d| &mut d.minutes)}
                </Show>
                <Show when=is(RuleKind::Anomaly)>
                    <label>"Metric"
                        <select prop:value=move || if draft.with(|d| d.anomaly == AnomalyMetric::ErrorRate) { "error_rate" } else { "hourly_cost" }
                            on:change=move |ev| {
                                let m = if event_target_value(&ev) == "error_rate" { AnomalyMetric::ErrorRate } else { AnomalyMetric::HourlyCost };
                                draft.update(|d| d.anomaly = m);
                            }>
                            <option value="hourly_cost">{AnomalyMetric::HourlyCost.label()}</option>
                            <option value="error_rate">{AnomalyMetric::ErrorRate.label()}</option>
                        </select>
                    </label>
                    {draft_field(draft, "rule-lookback", || "Look-back (h)".into(), "24 to 720 hours of history", |d| &mut d.lookback)}
                    {draft_field(draft, "rule-sensitivity", || "Sensitivity (MADs)".into(), "how unusual, in scaled median absolute deviations (1 to 20)", |d| &mut d.sensitivity)}
                </Show>
                <Show when=is(RuleKind::Sla)>
                    {draft_field(draft, "rule-endpoint", || "Model endpoint".into(), "a model endpoint watched on the Models page, e.g. fal-ai/flux/dev", |d| &mut d.endpoint)}
                </Show>
                <Show when=is(RuleKind::LowCredits)>
                    {draft_field(draft, "rule-credits-below", || "Balance below".into(), "fires when fal's credit balance is below this (empty: not judged)", |d| &mut d.credits_below)}
                    {draft_field(draft, "rule-runway-days", || "Runway under (days)".into(), "fires when the balance runs out sooner at the projected spend (empty: not judged)", |d| &mut d.runway_days)}
                </Show>
                {draft_field(draft, "rule-hold", || "Hold (min)".into(), "the condition must hold this long before the rule fires", |d| &mut d.hold)}
                <button type="submit">{move || if editing.get().is_some() { "Save rule" } else { "Add rule" }}</button>
                <Show when=move || editing.get().is_some()>
                    <button type="button" on:click=move |_| reset()>"Cancel"</button>
                </Show>
            </form>
            {move || error.get().map(|e| view! { <p class="status warn" role="alert">{e}</p> })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_read_as_sentences() {
        let c = Condition::Threshold {
            metric: ThresholdMetric::ErrorRate,
            above: 0.05,
            window_minutes: 15,
            min_requests: 20,
            failure: None,
        };
        assert_eq!(
            describe(&c, 5),
            "5xx rate above 5.0% over 15 min (≥ 20 requests), for 5 min"
        );
        let timeouts = Condition::Threshold {
            metric: ThresholdMetric::ErrorRate,
            above: 0.02,
            window_minutes: 15,
            min_requests: 20,
            failure: Some(FailureType::Timeout),
        };
        assert_eq!(
            describe(&timeouts, 0),
            "rate of timeouts above 2.0% over 15 min (≥ 20 requests)"
        );
        assert_eq!(
            describe(&Condition::QueueGrowing { minutes: 10 }, 0),
            "queue growing for 10 min"
        );
    }
}
