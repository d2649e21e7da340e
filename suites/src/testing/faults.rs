//! The contract faults the suites must catch, and exactly which cases each one
//! makes fail. One table serves both the in-memory fake's tests
//! (`fake/tests.rs`) and the harness's mutant tests against the real server
//! (`harness/tests/mutants`), so a new case is added to one list.
//!
//! Ids are listed in registry order: the fake's tests compare the lists as
//! written with the run's not-passing cases, in order.

/// A deliberate contract violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    DropRequestIdOnErrors,
    NoChallengeOn401,
    NeverRefuse,
    RemainingNeverFalls,
    SearchIgnoresTenant,
    GetLeaksOtherTenants,
    NoSuggestions,
    StackTraceInErrors,
    /// One answered search in ten takes 800 ms (twice the threshold); the rest are fast.
    SlowSearchTail,
}

/// Suite A's 401 cases: each needs a challenge and a suggestion.
const SUITE_A_401S: &[&str] = &[
    "suite_a::no_jwt_returns_401",
    "suite_a::invalid_jwt_returns_401",
];

/// Gate 2's rejected tokens: each 401 needs a challenge and a suggestion. (Public:
/// without the JWT secret most of them cannot be forged, and the harness expects those
/// to be inconclusive.)
pub const GATE_2_401S: &[&str] = &[
    "gate_2::alg_none_rejected",
    "gate_2::expired_token_rejected",
    "gate_2::bad_signature_rejected",
    "gate_2::wrong_audience_rejected",
    "gate_2::other_algorithm_rejected",
    "gate_2::non_authenticated_role_rejected",
    "gate_2::non_uuid_subject_rejected",
    "gate_2::future_issued_token_rejected",
    "gate_2::not_yet_valid_token_rejected",
];

/// The knowledge-path cases that expect an error problem somewhere.
const KNOWLEDGE_ERRORS: &[&str] = &[
    "files::delete_removes_the_file_everywhere",
    "files::every_route_needs_a_token",
    "uploads::bytes_contradicting_their_type_are_400_content_mismatch",
    "uploads::bytes_are_judged_to_the_last_byte",
    "uploads::empty_file_is_400_empty_file",
    "uploads::size_limit_is_exact",
    "limits::list_limit_defaults_to_50_within_1_to_100",
    "files::bad_cursor_is_400",
    "limits::search_limit_defaults_to_10_within_1_to_50",
];

/// Every provocation case: each judges only error answers.
pub const ERROR_KINDS: &[&str] = &[
    "errors::by_id_routes_refuse_bad_and_unknown_ids",
    "errors::list_queries_refuse_bad_values",
    "errors::upload_refuses_malformed_multipart",
    "errors::upload_refuses_malformed_metadata",
    "errors::search_refuses_malformed_bodies",
    "errors::memory_routes_refuse_malformed_input",
    "errors::wrong_methods_are_405_problems",
    "errors::unknown_paths_are_404_problems",
    "errors::oversized_headers_are_4xx",
    "errors::malformed_authorization_is_401",
];

impl Fault {
    /// Every fault, for the traceability matrix.
    pub const ALL: &'static [Fault] = &[
        Fault::DropRequestIdOnErrors,
        Fault::NoChallengeOn401,
        Fault::NeverRefuse,
        Fault::RemainingNeverFalls,
        Fault::SearchIgnoresTenant,
        Fault::GetLeaksOtherTenants,
        Fault::NoSuggestions,
        Fault::StackTraceInErrors,
        Fault::SlowSearchTail,
    ];

    /// The contract clauses ([`crate::contract`]) this fault breaks.
    pub fn clauses(self) -> &'static [&'static str] {
        match self {
            Fault::DropRequestIdOnErrors => &["headers.request-id.every"],
            Fault::NoChallengeOn401 => &["auth.missing-token", "auth.invalid-token"],
            Fault::NeverRefuse => &["ratelimit.per-user", "ratelimit.429"],
            Fault::RemainingNeverFalls => &["ratelimit.remaining"],
            Fault::SearchIgnoresTenant => &["files.own-data-only"],
            Fault::GetLeaksOtherTenants => &["files.not-found"],
            Fault::NoSuggestions => &["errors.suggestion"],
            Fault::StackTraceInErrors => &["errors.no-leak"],
            Fault::SlowSearchTail => &["criteria.search-p95"],
        }
    }

    /// The ids of exactly the cases that must not pass when this fault is present.
    pub fn caught_by(self) -> Vec<&'static str> {
        let parts: &[&[&'static str]] = match self {
            Fault::DropRequestIdOnErrors => &[&[
                "suite_a::x_request_id_present",
                "suite_c::user_a_request_101_returns_429",
                "suite_d::invalid_mime_type_returns_400_with_suggestion",
                "suite_d::rate_limit_exhaustion_returns_429_with_retry_after",
                "gate_3::x_request_id_echoed",
                "gate_3::unknown_route_and_wrong_method_are_problems",
                "gate_3::x_request_id_on_every_response",
            ]],
            Fault::NoChallengeOn401 => &[
                SUITE_A_401S,
                GATE_2_401S,
                &["files::every_route_needs_a_token"],
            ],
            Fault::NeverRefuse => &[&[
                "suite_c::user_a_request_101_returns_429",
                "suite_d::rate_limit_exhaustion_returns_429_with_retry_after",
                "gate_2::anonymous_tokens_are_limited_per_ip",
                // No refusal, so no spent allowance to claim another address against.
                "gate_2::client_sent_forwarding_headers_share_the_ip_allowance",
                "gate_3::retry_after_within_reset",
            ]],
            Fault::RemainingNeverFalls => &[&[
                "suite_c::user_a_requests_1_to_100_succeed",
                "suite_c::user_a_request_101_returns_429",
                "suite_d::rate_limit_exhaustion_returns_429_with_retry_after",
                "gate_2::two_tokens_of_one_user_share_one_bucket",
                "gate_3::rate_limit_remaining_falls_by_one",
                "gate_3::operational_endpoints_are_not_rate_limited",
                "gate_3::every_outcome_counts_against_the_limit",
                "gate_3::time_to_full_grows_by_one_emission_interval",
            ]],
            Fault::SearchIgnoresTenant => &[&[
                "suite_b::user_b_search_sees_only_own_file",
                "gate_2::sql_like_search_text_is_not_5xx",
            ]],
            Fault::GetLeaksOtherTenants => &[&["gate_2::cross_tenant_get_by_id_returns_404"]],
            Fault::NoSuggestions => &[
                SUITE_A_401S,
                &[
                    "suite_c::user_a_request_101_returns_429",
                    "suite_d::invalid_mime_type_returns_400_with_suggestion",
                    "suite_d::rate_limit_exhaustion_returns_429_with_retry_after",
                    // The R1 baseline requires `suggestion` (the served document
                    // too, but an error body off its schema is only a warning).
                    "r1_memory::responses_match_the_r1_baseline",
                ],
                GATE_2_401S,
                &[
                    "gate_2::cross_tenant_get_by_id_returns_404",
                    "gate_2::cross_tenant_delete_by_id_returns_404",
                    "gate_2::anonymous_tokens_are_limited_per_ip",
                    "gate_3::unknown_route_and_wrong_method_are_problems",
                    "gate_3::malformed_input_gets_400_with_suggestion",
                    "gate_3::every_outcome_counts_against_the_limit",
                ],
                KNOWLEDGE_ERRORS,
                ERROR_KINDS,
                &["gate_3::suggestion_on_every_error"],
            ],
            Fault::StackTraceInErrors => &[&["gate_2::error_bodies_leak_nothing"]],
            Fault::SlowSearchTail => &[&[crate::cases::latency::SEARCH_P95.id]],
        };
        // A case that only warns under this fault is not among those it fails.
        let warned = self.warned_by();
        parts
            .concat()
            .into_iter()
            .filter(|id| !warned.contains(id))
            .collect()
    }

    /// The ids of the cases that only warn when this fault is present: it
    /// breaks what the contract says a server *should* do there.
    pub fn warned_by(self) -> Vec<&'static str> {
        match self {
            // A refusal before the token is read should carry an id: a warning.
            Fault::DropRequestIdOnErrors => vec!["errors::oversized_headers_are_4xx"],
            // Error bodies off the served schema, and a refusal before the token is
            // read without a suggestion: both only *should*.
            Fault::NoSuggestions => vec![
                "gate_1::responses_conform_to_the_served_spec",
                "errors::oversized_headers_are_4xx",
            ],
            _ => vec![],
        }
    }
}
