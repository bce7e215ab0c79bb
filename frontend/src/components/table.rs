//! The one table of the dashboard, fed by column specs: headers, cells, optional sorting by a
//! column (click or Enter on its header; again for the other direction) and the empty state
//! inside the table's own frame.

use leptos::prelude::*;
use std::any::Any;
use std::cmp::Ordering;
use std::sync::Arc;

/// Renders one cell of a row.
pub type Cell<R> = Arc<dyn Fn(&R) -> AnyView + Send + Sync>;

/// One column of a [`Table`].
pub struct Column<R> {
    title: String,
    numeric: bool,
    cell: Cell<R>,
    sort: Option<fn(&R, &R) -> Ordering>,
    class: Option<fn(&R) -> &'static str>,
}

impl<R> Clone for Column<R> {
    fn clone(&self) -> Self {
        Self {
            title: self.title.clone(),
            numeric: self.numeric,
            cell: self.cell.clone(),
            sort: self.sort,
            class: self.class,
        }
    }
}

impl<R> Column<R> {
    /// A text column.
    pub fn new(
        title: impl Into<String>,
        cell: impl Fn(&R) -> AnyView + Send + Sync + 'static,
    ) -> Self {
        Self {
            title: title.into(),
            numeric: false,
            cell: Arc::new(cell),
            sort: None,
            class: None,
        }
    }

    /// A right-aligned number column.
    pub fn number(
        title: impl Into<String>,
        cell: impl Fn(&R) -> AnyView + Send + Sync + 'static,
    ) -> Self {
        Self {
            numeric: true,
            ..Self::new(title, cell)
        }
    }

    /// A class for each cell of the column (e.g. `bad` for a value past its threshold).
    #[must_use]
    pub fn class(mut self, class: fn(&R) -> &'static str) -> Self {
        self.class = Some(class);
        self
    }

    /// Sortable by `order` (ascending; a second click reverses it).
    #[must_use]
    pub fn sort(mut self, order: fn(&R, &R) -> Ordering) -> Self {
        self.sort = Some(order);
        self
    }
}

/// A row, erased: one table renderer serves every row type (a generic one was compiled again
/// for each, ~5 KB of wasm per table).
type AnyRow = Arc<dyn Any + Send + Sync>;
type Erased<T> = Arc<dyn Fn(&AnyRow) -> T + Send + Sync>;
type ErasedOrder = Arc<dyn Fn(&AnyRow, &AnyRow) -> Ordering + Send + Sync>;

/// A [`Column`] over erased rows.
struct AnyColumn {
    title: String,
    numeric: bool,
    cell: Erased<AnyView>,
    sort: Option<ErasedOrder>,
    class: Option<Erased<&'static str>>,
}

/// `row` as an `R` (every row of a table is one).
fn row<R: 'static>(row: &AnyRow) -> Option<&R> {
    row.downcast_ref::<R>()
}

impl<R: Send + Sync + 'static> Column<R> {
    fn erase(self) -> AnyColumn {
        let Self {
            title,
            numeric,
            cell,
            sort,
            class,
        } = self;
        AnyColumn {
            title,
            numeric,
            cell: Arc::new(move |r| row::<R>(r).map(|r| cell(r)).into_any()),
            sort: sort.map(|by| {
                Arc::new(
                    move |a: &AnyRow, b: &AnyRow| match (row::<R>(a), row::<R>(b)) {
                        (Some(a), Some(b)) => by(a, b),
                        _ => Ordering::Equal,
                    },
                ) as Arc<dyn Fn(&AnyRow, &AnyRow) -> Ordering + Send + Sync>
            }),
            class: class.map(|f| {
                Arc::new(move |r: &AnyRow| row::<R>(r).map_or("", f)) as Erased<&'static str>
            }),
        }
    }
}

/// Rows under their columns; `empty` in the table's frame when there are none.
#[component]
pub fn Table<R>(
    /// DOM id of the `<table>` (tests find it by this).
    id: &'static str,
    /// The columns, left to right.
    columns: Vec<Column<R>>,
    /// The rows, in their default order.
    rows: Vec<R>,
    /// What to say when there are no rows.
    #[prop(into)]
    empty: String,
    /// A class for each row (`None`: none).
    #[prop(optional)]
    row_class: Option<fn(&R) -> String>,
    /// A footer row (totals).
    #[prop(optional)]
    footer: Option<AnyView>,
) -> impl IntoView
where
    R: Send + Sync + 'static,
{
    let row_class = row_class.map(|f| {
        Arc::new(move |r: &AnyRow| row::<R>(r).map(f).unwrap_or_default()) as Erased<String>
    });
    erased_table(
        id,
        columns.into_iter().map(Column::erase).collect(),
        rows.into_iter().map(|r| Arc::new(r) as AnyRow).collect(),
        empty,
        row_class,
        footer,
    )
}

fn erased_table(
    id: &'static str,
    columns: Vec<AnyColumn>,
    rows: Vec<AnyRow>,
    empty: String,
    row_class: Option<Erased<String>>,
    footer: Option<AnyView>,
) -> AnyView {
    // (column, descending): the order picked, `None` for the rows' own.
    let order = RwSignal::new(None::<(usize, bool)>);
    let width = columns.len();
    let head = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let class = if c.numeric { "num" } else { "" };
            let title = c.title.clone();
            if c.sort.is_none() {
                return view! { <th class=class scope="col">{title}</th> }.into_any();
            }
            let sorted = move || {
                order
                    .get()
                    .filter(|(col, _)| *col == i)
                    .map(|(_, desc)| desc)
            };
            let aria = move || match sorted() {
                Some(true) => Some("descending"),
                Some(false) => Some("ascending"),
                None => None,
            };
            let arrow = move || match sorted() {
                Some(true) => " ▼",
                Some(false) => " ▲",
                None => "",
            };
            let click = move |_| {
                order.update(|o| {
                    *o = match *o {
                        Some((col, desc)) if col == i => Some((i, !desc)),
                        // Numbers read biggest first, names A to Z.
                        _ => Some((i, class == "num")),
                    };
                });
            };
            view! {
                <th class=class scope="col" aria-sort=aria>
                    <button class="sort" class:sorted=move || sorted().is_some() on:click=click>
                        {title}<span aria-hidden="true">{arrow}</span>
                    </button>
                </th>
            }
            .into_any()
        })
        .collect_view();
    let (columns, rows) = (StoredValue::new(columns), StoredValue::new(rows));
    let body = move || {
        let picked = order.get();
        rows.with_value(|rows| {
            if rows.is_empty() {
                return view! {
                    <tr class="empty"><td class="state-empty" colspan=width>{empty.clone()}</td></tr>
                }
                .into_any();
            }
            columns.with_value(|columns| {
                let mut shown: Vec<&AnyRow> = rows.iter().collect();
                if let Some((col, desc)) = picked {
                    if let Some(by) = columns.get(col).and_then(|c| c.sort.as_ref()) {
                        shown.sort_by(|a, b| by(a, b));
                        if desc {
                            shown.reverse();
                        }
                    }
                }
                shown
                    .into_iter()
                    .map(|r| {
                        let cells = columns
                            .iter()
                            .map(|c| {
                                let extra = c.class.as_ref().map_or("", |f| f(r));
                                let class = match (c.numeric, extra) {
                                    (true, "") => "num".to_owned(),
                                    (true, extra) => format!("num {extra}"),
                                    (false, extra) => extra.to_owned(),
                                };
                                view! { <td class=class>{(c.cell)(r)}</td> }
                            })
                            .collect_view();
                        view! { <tr class=row_class.as_ref().map(|f| f(r))>{cells}</tr> }
                    })
                    .collect_view()
                    .into_any()
            })
        })
    };
    view! {
        <div class="table-wrap">
            <table id=id>
                <thead><tr>{head}</tr></thead>
                <tbody>{body}</tbody>
                {footer.map(|f| view! { <tfoot>{f}</tfoot> })}
            </table>
        </div>
    }
    .into_any()
}

/// Orders two floats, NaN (no value) below every number: last when biggest come first.
pub fn by_f64(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b)
        .unwrap_or_else(|| b.is_nan().cmp(&a.is_nan()))
}

#[cfg(test)]
mod tests {
    use super::by_f64;

    #[test]
    fn a_missing_value_sorts_below_every_number() {
        let mut v = [2.0, f64::NAN, -1.0, 5.0];
        v.sort_by(|a, b| by_f64(*a, *b));
        assert!(v[0].is_nan());
        assert_eq!(&v[1..], &[-1.0, 2.0, 5.0]);
    }
}
