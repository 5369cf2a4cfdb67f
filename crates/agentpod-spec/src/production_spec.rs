//! The `production` section: the production profile a run is projected to. The volume, its mix
//! of categories, how the issues are handled today, and the budgets.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::decoder::Decoder;
use crate::keys;
use crate::node::{Node, Position};
use crate::template_part::is_field_path;

/// Shares are written as decimals (`0.3`), so their sum is only close to 1.
const SHARE_SUM_TOLERANCE: f64 = 0.001;

const DOLLARS_HELP: &str = "write dollars as a number, e.g. `2.50`";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductionSpec {
    pub issues_per_month: f64,
    /// How the monthly volume splits by category; without it the sample's own mix stands for
    /// production's.
    pub by_category: Option<CategoryMix>,
    /// How the issues are handled today, the estimate the projection is set against.
    pub current: Option<CurrentHandling>,
    pub budgets: ProductionBudgets,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryMix {
    /// The issue field that names the category: `category`, or `expected.category` for an
    /// expected value.
    pub field: String,
    /// Fraction of the monthly volume by category; they sum to 1.
    pub shares: BTreeMap<String, f64>,
}

/// At least one of the two is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CurrentHandling {
    pub cost_usd_per_issue: Option<f64>,
    pub minutes_per_issue: Option<f64>,
}

/// `None` means no budget.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProductionBudgets {
    pub monthly_cost_usd: Option<f64>,
    pub p95_cost_usd_per_issue: Option<f64>,
    pub p95_seconds_per_issue: Option<f64>,
}

impl ProductionSpec {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<ProductionSpec> {
        let fields = decoder.mapping(node, owner, "`production`", keys::PRODUCTION)?;
        decoder.require(&fields, keys::PRODUCTION_REQUIRED);
        let issues_per_month = fields.get("issues_per_month").and_then(|field| {
            decoder.non_negative_number(
                field.value,
                "production.issues_per_month",
                "write the monthly volume as a number, e.g. `12000`",
                false,
            )
        });
        let by_category = decoder.optional(&fields, "by_category", |decoder, node| {
            let owner = fields
                .get("by_category")
                .map_or(node.position, |field| field.key_position);
            decode_category_mix(decoder, node, owner)
        });
        let current = decoder.optional(&fields, "current", |decoder, node| {
            let owner = fields
                .get("current")
                .map_or(node.position, |field| field.key_position);
            decode_current(decoder, node, owner)
        });
        let budgets = decoder.optional(&fields, "budgets", |decoder, node| {
            let owner = fields
                .get("budgets")
                .map_or(node.position, |field| field.key_position);
            decode_budgets(decoder, node, owner)
        });
        Some(ProductionSpec {
            issues_per_month: issues_per_month?,
            by_category: by_category?,
            current: current?,
            budgets: budgets?.unwrap_or_default(),
        })
    }
}

fn decode_category_mix(
    decoder: &mut Decoder<'_>,
    node: &Node,
    owner: Position,
) -> Option<CategoryMix> {
    let fields = decoder.mapping(node, owner, "`production.by_category`", keys::CATEGORY_MIX)?;
    decoder.require(&fields, keys::CATEGORY_MIX_REQUIRED);
    let field = fields.get("field").and_then(|field| {
        let name = "production.by_category.field";
        let path = decoder.non_empty_string(field.value, name)?;
        if !is_field_path(&path) {
            decoder.report_with_help(
                field.value.position,
                format!("invalid field `{path}` for `{name}`"),
                Some("name an issue field, e.g. `category`, or an expected one, e.g. `expected.category`"),
            );
            return None;
        }
        Some(path)
    });
    let shares = fields
        .get("shares")
        .and_then(|field| decode_shares(decoder, field.value));
    Some(CategoryMix {
        field: field?,
        shares: shares?,
    })
}

fn decode_shares(decoder: &mut Decoder<'_>, node: &Node) -> Option<BTreeMap<String, f64>> {
    let fields = decoder.open_mapping(node, node.position, "`production.by_category.shares`")?;
    let mut shares = BTreeMap::new();
    let mut valid = true;
    for field in fields.iter() {
        let name = format!("production.by_category.shares.{}", field.key);
        let share = decoder.non_negative_number(
            field.value,
            &name,
            "write the category's share of the volume as a fraction, e.g. `0.3`",
            true,
        );
        match share {
            Some(share) if share > 1.0 => {
                decoder.report_with_help(
                    field.value.position,
                    format!(
                        "`{name}` must be at most 1, found `{}`",
                        field.value.scalar_text().unwrap_or_default()
                    ),
                    Some("shares are fractions of the volume: 30% is `0.3`"),
                );
                valid = false;
            }
            Some(share) => {
                shares.insert(field.key.to_owned(), share);
            }
            None => valid = false,
        }
    }
    if !valid {
        return None;
    }
    if shares.is_empty() {
        decoder.report_with_help(
            node.position,
            "`production.by_category.shares` is empty",
            Some("give each category its share of the volume, e.g. `{ billing: 0.6, shipping: 0.4 }`"),
        );
        return None;
    }
    let sum: f64 = shares.values().sum();
    if (sum - 1.0).abs() > SHARE_SUM_TOLERANCE {
        decoder.report_with_help(
            node.position,
            format!("the shares in `production.by_category.shares` add up to {sum:.3}, not 1"),
            Some("shares are fractions of the whole volume; a category without issues can be left out"),
        );
        return None;
    }
    Some(shares)
}

fn decode_current(
    decoder: &mut Decoder<'_>,
    node: &Node,
    owner: Position,
) -> Option<CurrentHandling> {
    let fields = decoder.mapping(node, owner, "`production.current`", keys::CURRENT_HANDLING)?;
    let cost = decoder.optional(&fields, "cost_usd_per_issue", |decoder, node| {
        decoder.non_negative_number(
            node,
            "production.current.cost_usd_per_issue",
            DOLLARS_HELP,
            true,
        )
    });
    let minutes = decoder.optional(&fields, "minutes_per_issue", |decoder, node| {
        decoder.non_negative_number(
            node,
            "production.current.minutes_per_issue",
            "write minutes as a number, e.g. `6`",
            true,
        )
    });
    if fields.iter().next().is_none() {
        decoder.report_with_help(
            fields.owner(),
            "`production.current` sets neither `cost_usd_per_issue` nor `minutes_per_issue`",
            Some("say what an issue costs today, in dollars or minutes, or remove `current`"),
        );
        return None;
    }
    Some(CurrentHandling {
        cost_usd_per_issue: cost?,
        minutes_per_issue: minutes?,
    })
}

fn decode_budgets(
    decoder: &mut Decoder<'_>,
    node: &Node,
    owner: Position,
) -> Option<ProductionBudgets> {
    let fields = decoder.mapping(
        node,
        owner,
        "`production.budgets`",
        keys::PRODUCTION_BUDGETS,
    )?;
    let mut positive = |key: &str, help: &str| {
        decoder.optional(&fields, key, |decoder, node| {
            decoder.non_negative_number(node, &format!("production.budgets.{key}"), help, false)
        })
    };
    let monthly_cost = positive("monthly_cost_usd", DOLLARS_HELP);
    let p95_cost = positive("p95_cost_usd_per_issue", DOLLARS_HELP);
    let p95_seconds = positive(
        "p95_seconds_per_issue",
        "write seconds as a number, e.g. `60`",
    );
    Some(ProductionBudgets {
        monthly_cost_usd: monthly_cost?,
        p95_cost_usd_per_issue: p95_cost?,
        p95_seconds_per_issue: p95_seconds?,
    })
}
