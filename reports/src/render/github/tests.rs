//! Workflow-command escaping and `$GITHUB_OUTPUT` syntax, exactly as
//! `@actions/core` writes them; the report-level behaviour is tested in
//! `reports/tests/all/github.rs` and end to end in `harness/tests/github.rs`.

use super::*;
use crate::render::markdown::whole_sections;

#[test]
fn data_escapes_percent_first_then_cr_and_lf() {
    assert_eq!(escape_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
    assert_eq!(escape_data("already %0A escaped"), "already %250A escaped");
    assert_eq!(escape_data("a: b, c"), "a: b, c", "data keeps : and ,");
}

#[test]
fn properties_also_escape_colon_and_comma() {
    assert_eq!(
        escape_property("suite_b::a,b%\r\n"),
        "suite_b%3A%3Aa%2Cb%25%0D%0A"
    );
    assert_eq!(escape_property("%3A"), "%253A");
}

#[test]
fn a_command_is_name_properties_and_message() {
    let line = command(
        "error",
        &[
            ("file", "src/a,b.rs"),
            ("line", "12"),
            ("title", "gate_2::alg_none_rejected"),
        ],
        "alg: none accepted\n100%",
    );
    assert_eq!(
        line,
        "::error file=src/a%2Cb.rs,line=12,title=gate_2%3A%3Aalg_none_rejected::alg: none accepted%0A100%25"
    );
}

#[test]
fn a_command_without_properties_has_no_space_and_empty_values_are_left_out() {
    assert_eq!(command("warning", &[], "m"), "::warning::m");
    assert_eq!(
        command("warning", &[("file", ""), ("title", "t")], "m"),
        "::warning title=t::m"
    );
    assert_eq!(command("warning", &[("title", "")], "m"), "::warning::m");
}

#[test]
fn a_single_line_output_takes_the_heredoc_form_too() {
    assert_eq!(
        output("verdict", "NO-GO", "D").unwrap(),
        "verdict<<D\nNO-GO\nD\n"
    );
    assert_eq!(output("v", "", "D").unwrap(), "v<<D\n\nD\n");
}

#[test]
fn a_value_with_a_line_break_uses_the_heredoc_form() {
    assert_eq!(
        output("reasons", "one\ntwo", "ghadelimiter_x").unwrap(),
        "reasons<<ghadelimiter_x\none\ntwo\nghadelimiter_x\n"
    );
    assert_eq!(
        output("r", "a\rb", "D").unwrap(),
        "r<<D\na\rb\nD\n",
        "a lone CR is a line break too"
    );
}

#[test]
fn a_value_holding_its_delimiter_is_refused() {
    assert_eq!(
        output("reasons", "x\nD\ny", "D"),
        Err(DelimiterInValue("reasons".into()))
    );
}

#[test]
fn whole_sections_cut_only_before_a_heading() {
    let md = "## A\naaaa\n### B\nbbbb\n## C\ncccc\n";
    assert_eq!(whole_sections(md, md.len()), md);
    assert_eq!(whole_sections(md, 21), "## A\naaaa\n### B\nbbbb\n");
    assert_eq!(whole_sections(md, 20), "## A\naaaa\n");
    assert_eq!(whole_sections(md, 9), "");
}
