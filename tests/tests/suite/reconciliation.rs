//! Reconciliation on a hand-computed example: two SmartRecruiters profiles
//! of one tenant, a user exclusion, a mapped custom role with no
//! entitlement, an unrecognized role, an over-licensed model (Standard,
//! bought in two entitlements at different prices, one of them monthly), an
//! under-licensed one (Administrator), one owned and unused (Extended), an
//! expired entitlement that must not count, open candidates, and a right
//! reclaimed through the connector. Every figure below is worked out by
//! hand in the comments; amounts are compared as exact decimal strings.
//! The JSON, CSV and kept-run forms parse back to the same figures, and
//! the activity report and spend-by-department view are checked too.

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use seatwarden_app::reclamation::refresh;
use seatwarden_app::reconciliation::{
    Compliance, ModelPosition, Position, Run, reconcile, run, spend_by,
};
use seatwarden_app::reports::OutputFormat;
use seatwarden_app::reports::activity::{activity, write_activity, write_activity_svg};
use seatwarden_app::reports::compliance::{write_compliance, write_history, write_savings};
use seatwarden_domain::account::Account;
use seatwarden_domain::entitlements::Money;
use seatwarden_domain::rules::{DAY_MS, ReclamationRule};
use seatwarden_store::Trigger;
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::published::{Published, Setup};
use seatwarden_tests::smartrecruiters_fake::{
    SmartRecruitersFake, SrTenant, aged_accounts, seed_users_only,
};
use seatwarden_tests::workspace::loopback_connection;

const KEY: &str = "DCRA1-reconcile";

fn eur(amount: &str) -> Option<Money> {
    Some(Money {
        amount: amount.parse().unwrap(),
        currency: "EUR".into(),
    })
}

/// Money as text, so 1200 and 1200.00 are not taken for each other.
fn text(money: &Option<Money>) -> Option<String> {
    money.as_ref().map(ToString::to_string)
}

fn entitlement(
    name: &str,
    edition: &str,
    quantity: u32,
    cost: &str,
    period: &str,
    from: Date,
    to: Date,
) -> String {
    format!(
        "\n[[entitlements]]\ntenant = \"acme\"\nname = \"{name}\"\npublisher = \"SmartRecruiters\"\nproduct = \"SmartRecruiters\"\nedition = \"{edition}\"\nquantity = {quantity}\nunit_cost = \"{cost}\"\ncurrency = \"EUR\"\nperiod = \"{period}\"\nstart = \"{from}\"\nend = \"{to}\"\n"
    )
}

fn with_department(mut account: Account, department: Option<&str>) -> Account {
    account.attributes = department
        .map(|d| vec![("department".to_string(), d.to_string())])
        .unwrap_or_default();
    account
}

fn us_account(
    i: usize,
    role: &str,
    last_active_at: Option<i64>,
    department: &str,
    now: i64,
) -> Account {
    Account {
        id: format!("us-{i}"),
        principal: format!("us{i}@acme.com"),
        display_name: None,
        active: true,
        subscriptions: vec![role.to_string()],
        created_at: Some(now - 400 * DAY_MS),
        last_active_at,
        attributes: vec![("department".to_string(), department.to_string())],
    }
}

fn model<'a>(position: &'a Position, edition: &str) -> &'a ModelPosition {
    position
        .models
        .iter()
        .find(|m| m.model.edition == edition)
        .unwrap_or_else(|| panic!("no {edition} in {position:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_figure_matches_the_hand_computed_example() {
    let now = now_ms();
    let today = jiff::Timestamp::from_millisecond(now)
        .unwrap()
        .to_zoned(TimeZone::UTC)
        .date();
    let long_ago = today.checked_sub(100.days()).unwrap();
    let lately = today.checked_sub(10.days()).unwrap();
    let later = today.checked_add(200.days()).unwrap();
    let yesterday = today.checked_sub(1.days()).unwrap();

    // Profile "smartrecruiters" (EU): twelve users at the vendor.
    let vendor = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_users_only(KEY, 12, now)
    })
    .await;
    vendor.edit(|t| {
        for (i, user) in t.users.iter_mut().enumerate() {
            user.role = match i {
                7 | 8 => "ADMINISTRATOR",
                9 => "TALENT_SOURCER",
                _ => "STANDARD",
            }
            .into();
        }
    });
    let users = vendor.users();
    let excluded_principal = users[0].email.clone();

    let mut extra = loopback_connection(
        "sr-us",
        "acme",
        "smartrecruiters",
        &vendor.url(),
        "vendor.key",
    );
    extra.push_str(
        "\n[profiles.sr-us]\ntenant = \"acme\"\nconnection = \"sr-us\"\nreclaim = false\n",
    );
    extra.push_str(&format!(
        "\n[[exclusions]]\ntenant = \"acme\"\nprincipal = \"{excluded_principal}\"\nreason = \"break-glass account\"\n"
    ));
    extra.push_str("\n[[models]]\ntenant = \"acme\"\nconnector = \"smartrecruiters\"\nidentifier = \"TALENT_SOURCER\"\npublisher = \"SmartRecruiters\"\nproduct = \"SmartRecruiters\"\nedition = \"Sourcer\"\n");
    // Standard: 12 at 35.10 a month since long ago, 3 more at 36.00 a month
    // lately (the newest price: 432.00 a year); 100 expired yesterday.
    extra.push_str(&entitlement(
        "SR-STD", "Standard", 12, "35.10", "month", long_ago, later,
    ));
    extra.push_str(&entitlement(
        "SR-STD-TOPUP",
        "Standard",
        3,
        "36.00",
        "month",
        lately,
        later,
    ));
    extra.push_str(&entitlement(
        "SR-STD-OLD",
        "Standard",
        100,
        "1.00",
        "year",
        long_ago,
        yesterday,
    ));
    // Administrator: 2 at 1200.00 a year. Extended: 5 at 99.99, unused.
    extra.push_str(&entitlement(
        "SR-ADM",
        "Administrator",
        2,
        "1200.00",
        "year",
        long_ago,
        later,
    ));
    extra.push_str(&entitlement(
        "SR-EXT", "Extended", 5, "99.99", "year", long_ago, later,
    ));

    let profile = Published::start(Setup {
        name: "reconcile-example",
        connector: "smartrecruiters",
        base_url: &vendor.url(),
        credential: KEY,
        reclaim: true,
        extra: &extra,
        secrets: &[],
    })
    .await;
    let p = profile.profiles("test").await;
    assert!(p.validate("sr-us").await.unwrap().passed);
    p.publish("sr-us").await.unwrap();
    let tenant = profile.record().await.tenant;
    let storage = &profile.app.storage;

    // EU, first download: user 6 (Standard) has been idle 75 days, user 0
    // too but is excluded; user 10 is already inactive at the vendor;
    // administrator 8 is not in this download (added at the vendor later).
    let stale = Some(now - 75 * DAY_MS);
    let department = |i: usize| match i {
        1 | 2 | 8 => Some("Sales"),
        3 | 4 | 5 | 7 | 11 => Some("Engineering"),
        _ => None,
    };
    let eu = |idle: &[usize], inactive: &[usize], absent: &[usize]| -> Vec<Account> {
        aged_accounts(&users, 0, now)
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !absent.contains(i))
            .map(|(i, mut a)| {
                if idle.contains(&i) {
                    a.last_active_at = stale;
                }
                a.active = !inactive.contains(&i);
                with_department(a, department(i))
            })
            .collect()
    };
    profile.store(&eu(&[0, 6], &[10], &[8]), now).await;
    let opened = profile.refresh().await.report;
    assert_eq!(opened.opened, 1, "{opened:?}");
    // Reclaimed through the connector: a right saved this month.
    let (_, outcome) = profile.reclaim(&ReclamationRule::default()).await;
    assert_eq!(outcome.unwrap().deactivated, vec![users[6].email.clone()]);

    // EU, next download: user 6 is inactive now; administrator 8 appears,
    // idle for 75 days (activity never moves backwards, so an account seen
    // active cannot turn idle within one test), and becomes a candidate.
    profile.store(&eu(&[0, 8], &[6, 10], &[]), now).await;
    assert_eq!(profile.refresh().await.report.opened, 1);

    // US: four Standard (two idle: candidates), one Administrator, and one
    // agency recruiter whose role no model covers (never signed in).
    let us = vec![
        us_account(0, "STANDARD", Some(now - 5 * DAY_MS), "Sales", now),
        us_account(1, "STANDARD", Some(now - 5 * DAY_MS), "Sales", now),
        us_account(2, "STANDARD", stale, "Sales", now),
        us_account(3, "STANDARD", stale, "Sales", now),
        us_account(
            4,
            "ADMINISTRATOR",
            Some(now - 5 * DAY_MS),
            "Engineering",
            now,
        ),
        us_account(5, "AGENCY_RECRUITER", None, "Agencies", now),
    ];
    profile.store_in("sr-us", &us, now).await;
    let us_record = profile.record_of("sr-us").await;
    refresh(&profile.app, &us_record, Trigger::Manual, "test", now)
        .await
        .unwrap();

    let position = reconcile(storage, tenant, today, &TimeZone::UTC)
        .await
        .unwrap();

    // Standard: used EU 6 (1, 2, 3, 4, 5, 11) + US 4 = 10; user 0 excluded.
    // Owned 12 + 3 = 15 (the expired 100 do not count): 5 available at
    // 432.00 = 2160.00 over-licensed. Open candidates US 2 and 3:
    // 2 x 432.00 = 864.00. Cost of use 10 x 432.00 = 4320.00.
    let standard = model(&position, "Standard");
    assert_eq!(
        (
            standard.owned,
            standard.used,
            standard.excluded,
            standard.available,
            standard.shortfall
        ),
        (15, 10, 1, 5, 0)
    );
    assert_eq!(standard.status, Compliance::OverLicensed);
    assert_eq!(standard.open_candidates, 2);
    assert_eq!(text(&standard.unit_price).as_deref(), Some("432.00 EUR"));
    assert_eq!(
        text(&standard.over_licensed).as_deref(),
        Some("2160.00 EUR")
    );
    assert_eq!(text(&standard.true_up_cost).as_deref(), Some("0.00 EUR"));
    assert_eq!(
        text(&standard.potential_savings).as_deref(),
        Some("864.00 EUR")
    );
    assert_eq!(text(&standard.annual_cost).as_deref(), Some("4320.00 EUR"));

    // Administrator: used EU 7, 8 + US 4 = 3, owned 2: one short, a true-up
    // of 1200.00. Candidate: EU 8, 1200.00 potential.
    let admin = model(&position, "Administrator");
    assert_eq!(
        (admin.owned, admin.used, admin.available, admin.shortfall),
        (2, 3, 0, 1)
    );
    assert_eq!(admin.status, Compliance::UnderLicensed);
    assert_eq!(text(&admin.true_up_cost).as_deref(), Some("1200.00 EUR"));
    assert_eq!(text(&admin.over_licensed).as_deref(), Some("0.00 EUR"));
    assert_eq!(
        text(&admin.potential_savings).as_deref(),
        Some("1200.00 EUR")
    );

    // Extended: 5 owned, none used: 5 x 99.99 = 499.95 over-licensed.
    let extended = model(&position, "Extended");
    assert_eq!(
        (extended.owned, extended.used, extended.available),
        (5, 0, 5)
    );
    assert_eq!(text(&extended.over_licensed).as_deref(), Some("499.95 EUR"));

    // Sourcer: mapped, used once, no entitlement: no price, no guesses.
    let sourcer = model(&position, "Sourcer");
    assert_eq!((sourcer.owned, sourcer.used), (0, 1));
    assert_eq!(sourcer.status, Compliance::NoEntitlement);
    assert_eq!(sourcer.unit_price, None);
    assert_eq!(sourcer.true_up_cost, None);
    assert_eq!(position.models.len(), 4, "{:#?}", position.models);
    assert_eq!(
        position.unrecognized_subscriptions, 1,
        "the agency recruiter"
    );

    // Per profile.
    type Usage<'a> = (
        &'a str,
        &'a str,
        u64,
        u64,
        u64,
        Option<String>,
        Option<String>,
    );
    let usage: Vec<Usage> = position
        .profiles
        .iter()
        .map(|u| {
            (
                u.profile.as_str(),
                u.model.edition.as_str(),
                u.used,
                u.excluded,
                u.open_candidates,
                text(&u.annual_cost),
                text(&u.potential_savings),
            )
        })
        .collect();
    let s = |t: &str| Some(t.to_string());
    assert_eq!(
        usage,
        vec![
            (
                "smartrecruiters",
                "Administrator",
                2,
                0,
                1,
                s("2400.00 EUR"),
                s("1200.00 EUR")
            ),
            ("smartrecruiters", "Sourcer", 1, 0, 0, None, None),
            (
                "smartrecruiters",
                "Standard",
                6,
                1,
                0,
                s("2592.00 EUR"),
                s("0.00 EUR")
            ),
            (
                "sr-us",
                "Administrator",
                1,
                0,
                0,
                s("1200.00 EUR"),
                s("0.00 EUR")
            ),
            (
                "sr-us",
                "Standard",
                4,
                0,
                2,
                s("1728.00 EUR"),
                s("864.00 EUR")
            ),
        ]
    );

    // Actual savings: user 6's Standard right this month, 432.00 a year.
    let month = today.strftime("%Y-%m").to_string();
    assert_eq!(position.savings.len(), 1);
    assert_eq!(position.savings[0].month, month);
    assert_eq!(position.savings[0].model.edition, "Standard");
    assert_eq!(position.savings[0].reclaimed, 1);
    assert_eq!(position.savings[0].annual_savings, eur("432.00"));

    // Totals: cost 4320.00 + 3600.00 + 0 = 7920.00; true-up 1200.00;
    // over-licensed 2160.00 + 499.95 = 2659.95; potential 864.00 +
    // 1200.00 = 2064.00; actual 432.00.
    assert_eq!(position.totals.len(), 1);
    let t = &position.totals[0];
    assert_eq!(
        (
            t.currency.as_str(),
            t.annual_cost.to_string(),
            t.true_up_cost.to_string(),
            t.over_licensed.to_string(),
            t.potential_savings.to_string(),
            t.actual_savings.to_string()
        ),
        (
            "EUR",
            "7920.00".into(),
            "1200.00".into(),
            "2659.95".into(),
            "2064.00".into(),
            "432.00".into()
        )
    );

    // A kept run reads back to the same position, and runs add up to a trend.
    // Kept on a clock standing at the test's `now` (the scheduler's time
    // zone is the default, UTC).
    let at_now = profile.app.on_clock(std::sync::Arc::new(
        seatwarden_app::clock::ManualClock::new(now),
    ));
    let kept = run(&at_now, tenant, Trigger::Manual).await.unwrap();
    assert_eq!(kept.position, position);
    profile.cli(&["reconcile", "--csv"]).await.unwrap();
    // The reports read the newest kept run: no new run each time.
    for report in [
        &["report", "compliance"][..],
        &["report", "savings"],
        &["report", "compliance", "--history"],
        &["report", "savings", "--json"],
    ] {
        profile.cli(report).await.unwrap();
    }
    let stored = storage.reconciliation_runs(tenant, 10).await.unwrap();
    assert_eq!(stored.len(), 2);
    let newest = Run::read(&stored[0]).unwrap();
    assert_eq!(
        newest.position, position,
        "the CLI's run has the same figures"
    );
    assert_eq!(Run::read(&stored[1]).unwrap().id, kept.id);

    // JSON parses back with exact amounts.
    let mut json = Vec::new();
    write_compliance(&kept, OutputFormat::Json, &mut json).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(doc["run"], kept.id);
    let admin_json = doc["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"]["edition"] == "Administrator")
        .unwrap();
    assert_eq!(admin_json["true_up_cost"]["amount"], "1200.00");
    assert_eq!(admin_json["status"], "under-licensed");
    assert_eq!(doc["totals"][0]["over_licensed"], "2659.95");
    let reread: Position = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(reread, position);

    // CSV: a row per model and per profile and model, same figures.
    let mut csv_out = Vec::new();
    write_compliance(&kept, OutputFormat::Csv, &mut csv_out).unwrap();
    let mut reader = csv::Reader::from_reader(&csv_out[..]);
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4 + 5);
    let col = |row: &csv::StringRecord, name: &str| {
        row[headers.iter().position(|h| h == name).unwrap()].to_string()
    };
    let standard_row = rows
        .iter()
        .find(|r| col(r, "scope") == "model" && col(r, "edition") == "Standard")
        .unwrap();
    assert_eq!(col(standard_row, "owned"), "15");
    assert_eq!(col(standard_row, "used"), "10");
    assert_eq!(col(standard_row, "over_licensed"), "2160.00");
    assert_eq!(col(standard_row, "unit_price"), "432.00");
    assert_eq!(col(standard_row, "currency"), "EUR");
    let sourcer_row = rows
        .iter()
        .find(|r| col(r, "scope") == "model" && col(r, "edition") == "Sourcer")
        .unwrap();
    assert_eq!(col(sourcer_row, "true_up_cost"), "", "unpriced stays empty");
    let us_standard = rows
        .iter()
        .find(|r| col(r, "profile") == "sr-us" && col(r, "edition") == "Standard")
        .unwrap();
    assert_eq!(col(us_standard, "potential_savings"), "864.00");

    // Savings as CSV: one potential row per model with candidates, one
    // actual row per month and model.
    let mut savings = Vec::new();
    write_savings(&kept, OutputFormat::Csv, &mut savings).unwrap();
    let records: Vec<Vec<String>> = csv::Reader::from_reader(&savings[..])
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let r = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        records,
        vec![
            r(&[
                "potential",
                "",
                "SmartRecruiters",
                "SmartRecruiters",
                "Administrator",
                "1",
                "EUR",
                "1200.00"
            ]),
            r(&[
                "potential",
                "",
                "SmartRecruiters",
                "SmartRecruiters",
                "Standard",
                "2",
                "EUR",
                "864.00"
            ]),
            r(&[
                "actual",
                &month,
                "SmartRecruiters",
                "SmartRecruiters",
                "Standard",
                "1",
                "EUR",
                "432.00"
            ]),
        ]
    );

    // History: one row per kept run, with the totals.
    let runs: Vec<Run> = stored.iter().map(|s| Run::read(s).unwrap()).collect();
    let mut history = Vec::new();
    write_history(&runs, OutputFormat::Json, &mut history).unwrap();
    let history: serde_json::Value = serde_json::from_slice(&history).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(history[0]["owned"], 22);
    assert_eq!(history[0]["used"], 14);
    assert_eq!(history[1]["totals"][0]["true_up_cost"], "1200.00");

    // Spend by department (excluded accounts and unmodelled roles out):
    // Engineering EU 3, 4, 5, 11 (Standard) + EU 7 and US 4 (Administrator)
    // = 4 x 432.00 + 2 x 1200.00 = 4128.00; Sales EU 1, 2 and US 0-3
    // (Standard) + EU 8 (Administrator) = 6 x 432.00 + 1200.00 = 3792.00;
    // the Sourcer (no department) is unpriced.
    let spend = spend_by(storage, tenant, today, "Department")
        .await
        .unwrap();
    let spend: Vec<(Option<&str>, u64, Vec<String>, u64)> = spend
        .iter()
        .map(|row| {
            (
                row.value.as_deref(),
                row.accounts,
                row.annual_cost.iter().map(ToString::to_string).collect(),
                row.unpriced_rights,
            )
        })
        .collect();
    assert_eq!(
        spend,
        vec![
            (Some("Engineering"), 6, vec!["4128.00 EUR".to_string()], 0),
            (Some("Sales"), 7, vec!["3792.00 EUR".to_string()], 0),
            (None, 1, vec![], 1),
        ]
    );
    profile
        .cli(&["report", "spend", "--by", "department"])
        .await
        .unwrap();

    // Activity: EU live accounts 0-5, 7, 8, 9, 11: eight recent, two idle
    // 75 days (0 and 8). US: three recent, two idle, one never.
    let distribution = activity(storage, tenant, now).await.unwrap();
    let counts: Vec<(&str, [u64; 6])> = distribution
        .iter()
        .map(|d| (d.profile.as_str(), d.accounts))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("smartrecruiters", [8, 0, 2, 0, 0, 0]),
            ("sr-us", [3, 0, 2, 0, 0, 1]),
        ]
    );
    let mut csv_out = Vec::new();
    write_activity(&distribution, OutputFormat::Csv, &mut csv_out).unwrap();
    let rows: Vec<Vec<String>> = csv::Reader::from_reader(&csv_out[..])
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 12);
    assert_eq!(rows[2], r(&["smartrecruiters", "60-90", "2"]));
    assert_eq!(rows[11], r(&["sr-us", "never", "1"]));
    let mut table = Vec::new();
    write_activity(&distribution, OutputFormat::Table, &mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(
        table.contains(&format!("    0-30 {} 8", "█".repeat(40))),
        "{table}"
    );
    assert!(
        table.contains(&format!("   60-90 {:<40} 2", "█".repeat(10))),
        "{table}"
    );

    // The SVG is well-formed XML with one bar per bucket and profile,
    // carrying the same counts.
    let mut svg = Vec::new();
    write_activity_svg(&distribution, &mut svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let bars: Vec<(String, String)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("class") == Some("bar"))
        .map(|n| {
            (
                n.attribute("data-days").unwrap().to_string(),
                n.attribute("data-accounts").unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(bars.len(), 12);
    assert_eq!(bars[5], ("never".to_string(), "0".to_string()));
    assert_eq!(bars[11], ("never".to_string(), "1".to_string()));
    let path = profile.ws.dir.join("activity.svg");
    profile
        .cli(&["report", "activity", "--svg", path.to_str().unwrap()])
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), svg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entitlements_from_the_command_line_are_checked_kept_and_left_alone_by_apply() {
    let vendor = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_users_only(KEY, 3, now_ms())
    })
    .await;
    let profile = Published::plain("entitlements-cli", "smartrecruiters", &vendor.url(), KEY).await;
    let tenant = profile.record().await.tenant;
    let storage = &profile.app.storage;
    let add = |extra: &[&str]| {
        let mut args = vec![
            "entitlements",
            "add",
            "--name",
            "PO-77",
            "--publisher",
            "SmartRecruiters",
            "--product",
            "SmartRecruiters",
            "--edition",
            "Standard",
            "--quantity",
            "10",
            "--currency",
            "EUR",
            "--start",
            "2026-01-01",
            "--end",
            "2026-12-31",
        ];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let cli = |args: Vec<String>| {
        let profile = &profile;
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            profile.cli(&refs).await
        }
    };

    // The same checks as the configuration, naming the flag.
    let err = cli(add(&["--unit-cost", "12,50"])).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "--unit-cost: \"12,50\" is not a decimal amount (write it like \"12.50\")"
    );
    let err = cli(add(&["--unit-cost", "1", "--period", "week"]))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("--period: unknown period \"week\""),
        "{err}"
    );
    assert!(
        storage.entitlements(tenant).await.unwrap().is_empty(),
        "nothing stored"
    );

    cli(add(&["--unit-cost", "19.99", "--period", "month"]))
        .await
        .unwrap();
    let stored = storage.entitlements(tenant).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].unit_cost.amount.to_string(), "19.99");

    // apply (with no [[entitlements]] in the file) leaves it alone.
    profile.profiles("ops").await.apply().await.unwrap();
    assert_eq!(storage.entitlements(tenant).await.unwrap().len(), 1);

    // Removing it is audited; removing it twice says there is none.
    cli(vec!["entitlements".into(), "remove".into(), "PO-77".into()])
        .await
        .unwrap();
    assert!(storage.entitlements(tenant).await.unwrap().is_empty());
    let err = cli(vec!["entitlements".into(), "remove".into(), "PO-77".into()])
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("no entitlement named \"PO-77\""),
        "{err}"
    );
    // The store says which case it is, for callers that branch (the API
    // answers 404 here).
    let err = storage
        .remove_entitlement(tenant, "PO-77", "test", now_ms())
        .await
        .unwrap_err();
    assert!(
        matches!(err, seatwarden_store::StoreError::NotFound(_)),
        "{err:?}"
    );
    let actions: Vec<String> = storage
        .audit_entries(tenant)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("entitlement."))
        .collect();
    assert_eq!(actions, vec!["entitlement.add", "entitlement.remove"]);
}
