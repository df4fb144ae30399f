//! The methodology rules as the product states them, checked against the shipped presets.

use super::*;
use crate::clock::Timestamp;
use crate::grams::Grams;

fn classic() -> Methodology {
    Methodology::preset("classic").unwrap()
}

fn transport_km() -> Methodology {
    Methodology::preset("transport-km").unwrap()
}

fn units(units: u64) -> Quantity {
    Quantity::from_units(units).unwrap()
}

fn shanghai() -> Tz {
    parse_timezone("Asia/Shanghai").unwrap()
}

/// 2026-11-24T10:00:00+08:00.
const NOV_24_MORNING_SHANGHAI: Timestamp = Timestamp(1_795_485_600_000);
const DAY_MS: i64 = 24 * 60 * 60 * 1_000;

/// Reports `quantities` one after the other, recording each credit, as the ledger writer
/// does, and returns the credited grams.
fn report_all(rule: &ActionRule, quantities: &[Quantity]) -> Vec<Result<CapDecision, ActionError>> {
    let mut usage = UsageSoFar::default();
    quantities
        .iter()
        .map(|quantity| {
            let decision = rule.decide(*quantity, &usage, DedupStatus::New);
            if let Ok(decision) = &decision {
                usage.record(decision);
            }
            decision
        })
        .collect()
}

#[test]
fn walking_credits_200_grams_per_10000_steps_capped_at_296_a_day() {
    let methodology = classic();
    let walking = methodology.action("walking").unwrap();
    assert_eq!(walking.grams_for(units(10_000)), Ok(Grams::new(200)));
    assert_eq!(walking.grams_for(units(8_000)), Ok(Grams::new(160)));
    // 1,234 steps are worth 24.68 g: whole grams are rounded down.
    assert_eq!(walking.grams_for(units(1_234)), Ok(Grams::new(24)));

    let day = walking
        .decide(units(20_000), &UsageSoFar::default(), DedupStatus::New)
        .unwrap();
    assert_eq!(day.requested, Grams::new(400));
    assert_eq!(day.credited, Grams::new(296));
    assert_eq!(day.cap_applied, Some(CapApplied::DailyGrams));

    // One ball a day: a second report the same day is not credited.
    let decisions = report_all(walking, &[units(12_000), units(3_000)]);
    assert_eq!(
        decisions[0].as_ref().map(|d| d.credited),
        Ok(Grams::new(240))
    );
    assert_eq!(
        decisions[1].as_ref().map(|d| (d.credited, d.cap_applied)),
        Ok((Grams::ZERO, Some(CapApplied::DailyActions)))
    );
}

#[test]
fn implausible_step_counts_are_rejected() {
    let methodology = classic();
    let walking = methodology.action("walking").unwrap();
    assert_eq!(walking.grams_for(units(100_000)), Ok(Grams::new(2_000)));
    assert!(matches!(
        walking.grams_for(units(100_001)),
        Err(ActionError::AboveQuantityMax { .. })
    ));
    assert!(matches!(
        walking.grams_for(Quantity::parse("5000.5").unwrap()),
        Err(ActionError::FractionalQuantity { .. })
    ));
    // Fewer than 50 steps are worth less than a gram: no 0 g ball.
    assert!(matches!(
        walking.grams_for(units(49)),
        Err(ActionError::LessThanOneGram { .. })
    ));
    assert_eq!(walking.grams_for(units(50)), Ok(Grams::new(1)));
}

#[test]
fn metro_rides_beyond_five_a_day_are_not_credited() {
    let methodology = classic();
    let metro = methodology.action("metro_ride").unwrap();
    let decisions = report_all(metro, &[units(1); 7]);
    let credited: Vec<_> = decisions
        .iter()
        .map(|d| d.as_ref().map(|d| d.credited.get()).unwrap())
        .collect();
    assert_eq!(credited, [52, 52, 52, 52, 52, 0, 0]);
    assert_eq!(
        decisions[5].as_ref().map(|d| d.cap_applied),
        Ok(Some(CapApplied::DailyActions))
    );
    // A report is one ride: batching rides into one report does not dodge the cap.
    assert!(matches!(
        metro.grams_for(units(2)),
        Err(ActionError::AboveQuantityMax { .. })
    ));
    // A new day starts from zero; the month keeps counting.
    let next_day = UsageSoFar {
        day: Usage::default(),
        month: Usage {
            actions: 5,
            quantity_milli: 5_000,
            grams: Grams::new(260),
        },
    };
    let decision = metro.decide(units(1), &next_day, DedupStatus::New).unwrap();
    assert_eq!(decision.credited, Grams::new(52));
}

#[test]
fn monthly_caps_stop_credits_until_the_next_month() {
    let methodology = classic();
    let hospital = methodology.action("hospital_appointment").unwrap();
    let decisions = report_all(hospital, &[units(1); 6]);
    assert_eq!(
        decisions[4].as_ref().map(|d| d.credited),
        Ok(Grams::new(277))
    );
    assert_eq!(
        decisions[5].as_ref().map(|d| (d.credited, d.cap_applied)),
        Ok((Grams::ZERO, Some(CapApplied::MonthlyActions)))
    );
}

#[test]
fn a_utility_bill_counts_once_per_household_per_month() {
    let methodology = classic();
    let bill = methodology.action("utility_bill").unwrap();
    let tz = shanghai();
    let november = NOV_24_MORNING_SHANGHAI;

    // Two people in one household report the same bill: one key, so the second is refused.
    let first = bill
        .dedup_key(Some("gridco:ACC-1234"), november, tz)
        .unwrap();
    let second = bill
        .dedup_key(
            Some("  gridco:ACC-1234 "),
            november.plus_millis(3 * DAY_MS),
            tz,
        )
        .unwrap();
    assert_eq!(
        first.as_ref().map(DedupKey::as_str),
        Some("utility_bill/household/2026-11/gridco:ACC-1234")
    );
    assert_eq!(first, second);
    let usage = UsageSoFar::default();
    let credited = bill.decide(units(1), &usage, DedupStatus::New).unwrap();
    assert_eq!(credited.credited, Grams::new(262));
    let repeated = bill
        .decide(units(1), &usage, DedupStatus::AlreadyCredited)
        .unwrap();
    assert_eq!(repeated.credited, Grams::ZERO);
    assert_eq!(repeated.cap_applied, Some(CapApplied::Dedup));

    // Next month the household counts again; another household counts this month.
    let december = bill
        .dedup_key(
            Some("gridco:ACC-1234"),
            november.plus_millis(7 * DAY_MS),
            tz,
        )
        .unwrap();
    assert_eq!(
        december.as_ref().map(DedupKey::as_str),
        Some("utility_bill/household/2026-12/gridco:ACC-1234")
    );
    let neighbour = bill
        .dedup_key(Some("gridco:ACC-9999"), november, tz)
        .unwrap();
    assert_ne!(neighbour, first);

    // The report must name the household.
    assert!(matches!(
        bill.dedup_key(None, november, tz),
        Err(ActionError::DedupValueMissing { .. })
    ));
    assert!(matches!(
        bill.dedup_key(Some("a\nb"), november, tz),
        Err(ActionError::InvalidDedupValue { .. })
    ));
    // Actions without a dedup rule have no key, and the status is ignored.
    let metro = methodology.action("metro_ride").unwrap();
    assert_eq!(metro.dedup_key(Some("x"), november, tz), Ok(None));
    let decision = metro
        .decide(units(1), &usage, DedupStatus::AlreadyCredited)
        .unwrap();
    assert_eq!(decision.credited, Grams::new(52));
}

#[test]
fn both_presets_parse_and_every_action_has_a_source() {
    assert_eq!(Methodology::preset_names(), ["classic", "transport-km"]);
    for &name in Methodology::preset_names() {
        let methodology = Methodology::parse(Methodology::preset_text(name).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(methodology.name(), name);
        assert_eq!(methodology.version(), 1);
        for action in methodology.actions() {
            assert!(
                !action.source().citation.is_empty(),
                "{name}/{}",
                action.key()
            );
            assert_eq!(action.is_enabled(), action.grams_rule().is_some());
        }
    }
    assert_eq!(Methodology::preset("nonexistent"), None);
}

#[test]
fn a_methodology_publishes_its_factors_caps_and_sources() {
    let published = toml::Value::try_from(classic()).unwrap();
    let walking = &published["actions"][0];
    assert_eq!(walking["key"].as_str(), Some("walking"));
    assert_eq!(
        walking["grams"]["grams_per_10000_steps"].as_integer(),
        Some(200)
    );
    assert_eq!(walking["caps"]["daily_grams"].as_integer(), Some(296));
    assert_eq!(walking["quantity_max"].as_integer(), Some(100_000));
    assert_eq!(walking["ripening"].as_str(), Some("next_morning"));
    assert!(
        walking["source"]["citation"]
            .as_str()
            .is_some_and(|citation| citation.starts_with("Ant Group, Ant Forest energy rules"))
    );
    let bus = &toml::Value::try_from(transport_km()).unwrap()["actions"][0];
    assert_eq!(
        bus["grams"]["baseline_grams_per_unit"].as_integer(),
        Some(170)
    );
    assert_eq!(bus["grams"]["mode_grams_per_unit"].as_integer(), Some(96));
}

#[test]
fn the_classic_preset_holds_ant_forests_published_values() {
    let methodology = classic();
    let expected = [
        (
            "walking",
            200,
            Caps {
                daily_grams: Some(Grams::new(296)),
                daily_actions: Some(1),
                ..Caps::default()
            },
        ),
        (
            "offline_payment",
            5,
            Caps {
                daily_actions: Some(10),
                ..Caps::default()
            },
        ),
        (
            "utility_bill",
            262,
            Caps {
                monthly_actions: Some(10),
                ..Caps::default()
            },
        ),
        (
            "movie_ticket",
            180,
            Caps {
                monthly_actions: Some(10),
                ..Caps::default()
            },
        ),
        (
            "train_ticket",
            136,
            Caps {
                monthly_actions: Some(10),
                ..Caps::default()
            },
        ),
        (
            "hospital_appointment",
            277,
            Caps {
                monthly_actions: Some(5),
                ..Caps::default()
            },
        ),
        (
            "metro_ride",
            52,
            Caps {
                daily_actions: Some(5),
                ..Caps::default()
            },
        ),
        ("bus_ride", 80, Caps::default()),
        (
            "e_invoice",
            5,
            Caps {
                daily_actions: Some(5),
                ..Caps::default()
            },
        ),
    ];
    assert_eq!(methodology.actions().len(), expected.len());
    for (key, grams, caps) in expected {
        let action = methodology.action(key).unwrap();
        let one_report = if key == "walking" {
            units(10_000)
        } else {
            units(1)
        };
        assert_eq!(action.grams_for(one_report), Ok(Grams::new(grams)), "{key}");
        assert_eq!(action.caps(), &caps, "{key}");
        assert_eq!(action.ripening(), Ripening::NextMorning, "{key}");
    }
    let bill = methodology.action("utility_bill").unwrap();
    assert_eq!(
        bill.dedup().map(|d| (d.key(), d.per())),
        Some(("household", DedupPeriod::Month))
    );
}

#[test]
fn transport_km_credits_the_car_baseline_minus_the_mode() {
    let methodology = transport_km();
    let ten_km = units(10);
    for (key, grams_per_km) in [
        ("bus", 74),
        ("national_rail", 135),
        ("metro_tram", 140),
        ("coach", 143),
        ("cycling", 170),
        ("walking", 170),
    ] {
        let action = methodology.action(key).unwrap();
        assert_eq!(action.unit().as_str(), "km");
        assert_eq!(
            action.grams_for(ten_km),
            Ok(Grams::new(grams_per_km * 10)),
            "{key}"
        );
    }
    // 3.7 km by bus: 74 × 3.7 = 273.8 g, rounded down.
    let bus = methodology.action("bus").unwrap();
    assert_eq!(
        bus.grams_for(Quantity::parse("3.7").unwrap()),
        Ok(Grams::new(273))
    );
}

#[test]
fn cycling_counts_at_most_15_km_a_day() {
    let methodology = transport_km();
    let cycling = methodology.action("cycling").unwrap();
    let decisions = report_all(cycling, &[units(10), units(8), units(1)]);
    let first = decisions[0].as_ref().unwrap();
    assert_eq!(
        (first.credited, first.cap_applied),
        (Grams::new(1_700), None)
    );
    // Only 5 of the 8 km are left today: the grams of 5 km.
    let second = decisions[1].as_ref().unwrap();
    assert_eq!(second.requested, Grams::new(1_360));
    assert_eq!(second.credited, Grams::new(850));
    assert_eq!(second.credited_quantity_milli, 5_000);
    assert_eq!(second.cap_applied, Some(CapApplied::DailyQuantity));
    let third = decisions[2].as_ref().unwrap();
    assert_eq!(
        (third.credited, third.cap_applied),
        (Grams::ZERO, Some(CapApplied::DailyQuantity))
    );
}

#[test]
fn recycling_stays_disabled_until_the_operator_sources_a_factor() {
    let methodology = transport_km();
    for key in ["recycling_shoes", "recycling_textiles"] {
        let action = methodology.action(key).unwrap();
        assert!(!action.is_enabled());
        assert!(matches!(
            action.grams_for(units(1)),
            Err(ActionError::Disabled { .. })
        ));
        assert!(matches!(
            action.decide(units(1), &UsageSoFar::default(), DedupStatus::New),
            Err(ActionError::Disabled { .. })
        ));
    }
}

#[test]
fn a_disabled_action_is_not_credited_even_with_a_factor() {
    let file = action_with("ride", "grams_per_unit = 10\nenabled = false");
    let methodology = Methodology::parse(&file).unwrap();
    let paused = methodology.action("m").unwrap();
    assert!(matches!(
        paused.grams_for(units(1)),
        Err(ActionError::Disabled { .. })
    ));
}

#[test]
fn a_grams_cap_partly_used_credits_the_remainder() {
    let methodology = Methodology::parse(&file_with(
        "key = \"steps\"\ntitle = \"Steps\"\nunit = \"steps\"\ngrams_per_10000_steps = 200\n\
         caps = { daily_grams = 296, monthly_grams = 5000 }\n",
    ))
    .unwrap();
    let steps = methodology.action("steps").unwrap();
    let usage = UsageSoFar {
        day: Usage {
            actions: 1,
            quantity_milli: 10_000_000,
            grams: Grams::new(200),
        },
        month: Usage {
            actions: 30,
            quantity_milli: 300_000_000,
            grams: Grams::new(4_950),
        },
    };
    // 96 g left today but only 50 g this month: the monthly cap binds.
    let decision = steps
        .decide(units(10_000), &usage, DedupStatus::New)
        .unwrap();
    assert_eq!(decision.requested, Grams::new(200));
    assert_eq!(decision.credited, Grams::new(50));
    assert_eq!(decision.cap_applied, Some(CapApplied::MonthlyGrams));
    let quiet_month = UsageSoFar {
        month: usage.day,
        ..usage
    };
    let decision = steps
        .decide(units(10_000), &quiet_month, DedupStatus::New)
        .unwrap();
    assert_eq!(decision.credited, Grams::new(96));
    assert_eq!(decision.cap_applied, Some(CapApplied::DailyGrams));
}

#[test]
fn whole_unit_actions_refuse_decimals_and_fractional_ones_keep_them() {
    let classic = classic();
    let bus_ride = classic.action("bus_ride").unwrap();
    assert!(matches!(
        bus_ride.grams_for(Quantity::parse("0.5").unwrap()),
        Err(ActionError::FractionalQuantity { .. })
    ));
    let transport = transport_km();
    let coach = transport.action("coach").unwrap();
    assert_eq!(
        coach.grams_for(Quantity::parse("0.007").unwrap()),
        Ok(Grams::new(1))
    );
}

#[test]
fn balls_record_when_they_ripen_from_the_action_rule() {
    let methodology = classic();
    let metro = methodology.action("metro_ride").unwrap();
    let ripens_at = metro.ripens_at(
        NOV_24_MORNING_SHANGHAI,
        shanghai(),
        DEFAULT_RIPENING_LOCAL_TIME,
    );
    // 10:00 on the 24th in Shanghai ripens at 07:00 on the 25th: 21 hours later.
    assert_eq!(
        ripens_at,
        NOV_24_MORNING_SHANGHAI.plus_millis(21 * 60 * 60 * 1_000)
    );
    assert_eq!(
        expires_at(ripens_at),
        ripens_at.plus_millis(BALL_LIFETIME_MS)
    );
}

/// A valid file with one action whose body is `action`.
fn file_with(action: &str) -> String {
    format!(
        "name = \"test\"\nversion = 1\n\n[[action]]\n{action}source = {{ citation = \"a test\" }}\n"
    )
}

/// Asserts that `text` is refused at `line` with a reason containing `reason`.
#[track_caller]
fn refused(text: &str, line: usize, reason: &str) {
    let error = Methodology::parse(text).expect_err(text);
    assert_eq!(error.line, line, "{error} in\n{text}");
    assert!(
        error.reason.contains(reason),
        "expected {reason:?}, got {error} in\n{text}"
    );
    assert_eq!(error.to_string(), format!("line {line}: {}", error.reason));
}

/// A metro action without its source, to which cases add one broken line (line 9 of
/// `file_with`).
const METRO: &str = "key = \"metro\"\ntitle = \"Metro\"\nunit = \"ride\"\ngrams_per_unit = 52\n";

fn metro_with(line: &str) -> String {
    file_with(&format!("{METRO}{line}\n"))
}

/// An action of `file_with` with key `m`, title `M`, `unit` and a last line (line 8).
fn action_with(unit: &str, line: &str) -> String {
    file_with(&format!(
        "key = \"m\"\ntitle = \"M\"\nunit = \"{unit}\"\n{line}\n"
    ))
}

#[test]
fn an_invalid_methodology_file_names_the_line_and_the_reason() {
    // TOML syntax and unknown fields, found by the TOML reader.
    refused(
        "name = \"x\"\nversion = 1\n[[action]]\nkey = \n",
        4,
        "invalid string",
    );
    refused(
        "name = \"x\"\nversion = 1\nauthor = \"me\"\n",
        3,
        "unknown field `author`",
    );
    refused(
        &metro_with("grams_per_km = 3"),
        9,
        "unknown field `grams_per_km`",
    );
    refused(
        &metro_with("caps = { weekly_actions = 3 }"),
        9,
        "unknown field `weekly_actions`",
    );
    refused(
        &metro_with("source = { citation = \"again\" }"),
        10,
        "duplicate key `source`",
    );
    refused("version = 1\n", 1, "missing field `name`");

    // A missing source points at the header of its action.
    let unsourced_then_sourced = format!(
        "name = \"x\"\nversion = 1\n\n[[action]]\n{METRO}\n[[action]]\nkey = \"bus\"\n\
         title = \"Bus\"\nunit = \"ride\"\ngrams_per_unit = 80\nsource = {{ citation = \"x\" }}\n"
    );
    refused(&unsourced_then_sourced, 4, "action `metro` has no source");
    refused(
        &file_with(METRO).replace("a test", "  "),
        9,
        "citation must be 1 to 2,000 characters",
    );
    let ftp_source = "name = \"x\"\nversion = 1\n[[action]]\nkey = \"m\"\ntitle = \"M\"\n\
                      unit = \"ride\"\ngrams_per_unit = 5\n\
                      source = { citation = \"x\", url = \"ftp://x\" }\n";
    refused(ftp_source, 8, "source url must be an http(s) address");

    // Factors.
    refused(
        &action_with("ride", "grams_per_unit = 0"),
        8,
        "grams_per_unit must be more than zero",
    );
    refused(
        &action_with("ride", "grams_per_unit = 1.2345"),
        8,
        "a factor has more than 3 decimals",
    );
    refused(
        &action_with("ride", "grams_per_unit = -4"),
        8,
        "a factor cannot be negative",
    );
    refused(
        &action_with(
            "km",
            "baseline_grams_per_unit = 170\nmode_grams_per_unit = 170",
        ),
        9,
        "mode_grams_per_unit (170) must be below baseline_grams_per_unit (170)",
    );
    refused(
        &action_with("km", "mode_grams_per_unit = 96"),
        8,
        "mode_grams_per_unit needs baseline_grams_per_unit",
    );
    refused(
        &action_with("ride", "enabled = true"),
        4,
        "action `m` is enabled but states no grams",
    );
    refused(
        &metro_with("grams_per_10000_steps = 200"),
        4,
        "states grams in more than one way",
    );
    refused(
        &action_with("km", "grams_per_10000_steps = 200"),
        8,
        "needs unit = \"steps\"",
    );

    // Names, keys and units.
    refused(
        "name = \"Classic!\"\nversion = 1\n",
        1,
        "name must be 1 to 40 characters",
    );
    refused("name = \"x\"\nversion = 0\n", 2, "version starts at 1");
    refused("name = \"x\"\nversion = 1\n", 1, "at least one [[action]]");
    refused(
        &file_with(&METRO.replace("\"metro\"", "\"Metro Ride\"")),
        5,
        "an action key is 1 to 40 characters",
    );
    let twice = format!(
        "name = \"x\"\nversion = 1\n[[action]]\n{METRO}source = {{ citation = \"x\" }}\n\
         [[action]]\n{METRO}source = {{ citation = \"x\" }}\n"
    );
    refused(&twice, 10, "action key `metro` is already used at line 4");
    refused(
        &action_with("KM", "grams_per_unit = 52"),
        7,
        "unit must be 1 to 20 characters",
    );

    // Ripening.
    refused(
        &metro_with("ripening = \"tomorrow\""),
        9,
        "unknown ripening \"tomorrow\"",
    );
    refused(
        &metro_with("ripening = { delay_minutes = 0 }"),
        9,
        "delay_minutes must be 1 to 10080",
    );

    // Caps, quantities and dedup.
    refused(
        &metro_with("caps = { daily_actions = 0 }"),
        9,
        "daily_actions must be more than zero",
    );
    refused(
        &metro_with("caps = { daily_quantity = 2.5 }"),
        9,
        "daily_quantity must be whole",
    );
    refused(
        &metro_with("quantity_max = 0"),
        9,
        "quantity_max must be more than zero",
    );
    refused(
        &metro_with("dedup = { key = \"household\", per = \"week\" }"),
        9,
        "unknown variant `week`",
    );
}

#[test]
fn a_methodology_too_large_to_be_a_file_is_refused() {
    let text = "#".repeat(METHODOLOGY_BYTES_MAX + 1);
    let error = Methodology::parse(&text).unwrap_err();
    assert_eq!(error.line, 1);
}

mod caps_never_overflow {
    use super::*;
    use proptest::prelude::*;

    fn caps_file(
        daily_actions: u32,
        daily_quantity: u64,
        daily_grams: u64,
        monthly_grams: u64,
    ) -> String {
        file_with(&format!(
            "key = \"km\"\ntitle = \"Km\"\nunit = \"km\"\nfractional = true\n\
             baseline_grams_per_unit = 170\nmode_grams_per_unit = 0.5\n\
             caps = {{ daily_actions = {daily_actions}, daily_quantity = {daily_quantity}, \
             daily_grams = {daily_grams}, monthly_grams = {monthly_grams} }}\n"
        ))
    }

    proptest! {
        #[test]
        fn credited_never_exceeds_requested_and_caps_are_never_exceeded(
            daily_actions in 1u32..20,
            daily_quantity in 1u64..50,
            daily_grams in 1u64..5_000,
            monthly_grams in 1u64..20_000,
            reports_milli in proptest::collection::vec(1u64..30_000, 1..40),
        ) {
            let file = caps_file(daily_actions, daily_quantity, daily_grams, monthly_grams);
            let methodology = Methodology::parse(&file).unwrap();
            let rule = methodology.action("km").unwrap();
            let mut usage = UsageSoFar::default();
            for milli in reports_milli {
                let quantity = Quantity::from_milli(milli).unwrap();
                let Ok(decision) = rule.decide(quantity, &usage, DedupStatus::New) else {
                    continue;
                };
                prop_assert!(decision.credited <= decision.requested);
                if decision.cap_applied.is_none() {
                    prop_assert_eq!(decision.credited, decision.requested);
                }
                prop_assert!(decision.credited_quantity_milli <= milli);
                usage.record(&decision);
                prop_assert!(usage.day.actions <= daily_actions);
                prop_assert!(usage.day.quantity_milli <= daily_quantity * 1_000);
                prop_assert!(usage.day.grams.get() <= daily_grams);
                prop_assert!(usage.month.grams.get() <= monthly_grams);
            }
        }

        #[test]
        fn whatever_the_usage_a_cap_decision_credits_at_most_what_is_left(
            used_actions in 0u32..30,
            used_quantity_milli in 0u64..60_000,
            used_grams in 0u64..10_000,
            milli in 1u64..30_000,
        ) {
            let methodology = Methodology::parse(&caps_file(10, 40, 4_000, 8_000)).unwrap();
            let rule = methodology.action("km").unwrap();
            let used = Usage {
                actions: used_actions,
                quantity_milli: used_quantity_milli,
                grams: Grams::new(used_grams),
            };
            let usage = UsageSoFar { day: used, month: used };
            let quantity = Quantity::from_milli(milli).unwrap();
            let Ok(decision) = rule.decide(quantity, &usage, DedupStatus::New) else {
                return Ok(());
            };
            prop_assert!(decision.credited <= decision.requested);
            if decision.is_credited() {
                prop_assert!(used_actions < 10);
                prop_assert!(used_quantity_milli + decision.credited_quantity_milli <= 40_000);
                prop_assert!(used_grams + decision.credited.get() <= 4_000);
            }
        }
    }
}
