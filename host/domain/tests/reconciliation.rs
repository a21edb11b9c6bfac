//! Reconciliation arithmetic: status, shortfall and availability per model,
//! exact yearly prices from the newest entitlement in force, totals per
//! currency, savings per month, and a clear refusal of one model priced in
//! two currencies. Pure figures: no database (the gathering of the counts
//! is tested end to end in the suite).

use jiff::civil::date;
use rust_decimal::Decimal;
use seatwarden_domain::entitlements::{Entitlement, Money, Period};
use seatwarden_domain::reconciliation::{Compliance, Models, ProfileTally, Tally, position};
use seatwarden_domain::software_models::SoftwareModel;
use std::collections::BTreeMap;

fn money(amount: &str, currency: &str) -> Money {
    Money {
        amount: amount.parse::<Decimal>().unwrap(),
        currency: currency.into(),
    }
}

fn entitlement(name: &str, model: &SoftwareModel, quantity: u32, cost: Money) -> Entitlement {
    Entitlement {
        name: name.into(),
        model: model.clone(),
        quantity,
        unit_cost: cost,
        period: Period::Month,
        start: date(2026, 1, 1),
        end: date(2026, 12, 31),
        renewal: None,
    }
}

fn tally(used: u64, excluded: u64, open_candidates: u64) -> Tally {
    Tally {
        used,
        excluded,
        open_candidates,
    }
}

#[test]
fn each_model_is_priced_exactly_and_totalled_per_currency() {
    let member = SoftwareModel::per_user("Smartsheet", "Smartsheet", "Member");
    let admin = SoftwareModel::per_user("SmartRecruiters", "SmartRecruiters", "Administrator");
    let guest = SoftwareModel::per_user("Smartsheet", "Smartsheet", "Guest");
    let mut models = Models::default();
    for model in [&member, &admin, &guest] {
        models.intern(model.clone());
    }
    let mut newer = entitlement("SS-2", &member, 5, money("10.10", "EUR"));
    newer.start = date(2026, 6, 1);
    let in_force = [
        entitlement("SS-1", &member, 10, money("9.00", "EUR")),
        newer,
        entitlement("SR-1", &admin, 2, money("35.10", "USD")),
    ];
    let sheets = [tally(12, 1, 3)];
    let recruiting = [Tally::default(), tally(2, 0, 1), tally(7, 0, 0)];
    let profiles = [
        ProfileTally {
            profile: "sheets",
            connector: "smartsheet",
            tallies: &sheets,
        },
        ProfileTally {
            profile: "recruiting",
            connector: "smartrecruiters",
            tallies: &recruiting,
        },
    ];
    let reclaimed = BTreeMap::from([(("2026-03".to_string(), 0), 2)]);
    let position = position(
        date(2026, 7, 1),
        &models,
        &profiles,
        reclaimed,
        &in_force,
        4,
    )
    .unwrap();

    let member_row = position.models.iter().find(|m| m.model == member).unwrap();
    assert_eq!(member_row.status, Compliance::OverLicensed);
    assert_eq!(
        (
            member_row.owned,
            member_row.used,
            member_row.available,
            member_row.shortfall
        ),
        (15, 12, 3, 0)
    );
    // The newest entitlement's monthly cost, times 12, exactly.
    assert_eq!(member_row.unit_price, Some(money("121.20", "EUR")));
    assert_eq!(member_row.annual_cost, Some(money("1454.40", "EUR")));
    assert_eq!(member_row.over_licensed, Some(money("363.60", "EUR")));
    assert_eq!(member_row.potential_savings, Some(money("363.60", "EUR")));

    let admin_row = position.models.iter().find(|m| m.model == admin).unwrap();
    assert_eq!(admin_row.status, Compliance::Compliant);
    let guest_row = position.models.iter().find(|m| m.model == guest).unwrap();
    assert_eq!(guest_row.status, Compliance::NoEntitlement);
    assert_eq!((guest_row.used, guest_row.unit_price.clone()), (7, None));
    assert_eq!(guest_row.annual_cost, None, "never guessed");

    assert_eq!(position.savings.len(), 1);
    assert_eq!(
        position.savings[0].annual_savings,
        Some(money("242.40", "EUR"))
    );
    let totals: Vec<(&str, String, String)> = position
        .totals
        .iter()
        .map(|t| {
            (
                t.currency.as_str(),
                t.annual_cost.to_string(),
                t.actual_savings.to_string(),
            )
        })
        .collect();
    assert_eq!(
        totals,
        [
            ("EUR", "1454.40".to_string(), "242.40".to_string()),
            ("USD", "842.40".to_string(), "0".to_string())
        ]
    );
    let usage: Vec<(&str, u64)> = position
        .profiles
        .iter()
        .map(|u| (u.profile.as_str(), u.used))
        .collect();
    assert_eq!(
        usage,
        [("recruiting", 2), ("recruiting", 7), ("sheets", 12)]
    );
    assert_eq!(position.unrecognized_subscriptions, 4);
}

#[test]
fn a_model_priced_in_two_currencies_is_refused_by_name() {
    let member = SoftwareModel::per_user("Smartsheet", "Smartsheet", "Member");
    let mut models = Models::default();
    models.intern(member.clone());
    let in_force = [
        entitlement("SS-EUR", &member, 10, money("9.00", "EUR")),
        entitlement("SS-USD", &member, 10, money("9.00", "USD")),
    ];
    let tallies = [tally(1, 0, 0)];
    let profiles = [ProfileTally {
        profile: "sheets",
        connector: "smartsheet",
        tallies: &tallies,
    }];
    let refused = position(
        date(2026, 7, 1),
        &models,
        &profiles,
        BTreeMap::new(),
        &in_force,
        0,
    )
    .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "entitlements \"SS-EUR\" (EUR) and \"SS-USD\" (USD) price Smartsheet Smartsheet (Member) in different currencies; reconciliation cannot add them up: enter both in one currency"
    );
}
