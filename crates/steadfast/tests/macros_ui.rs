//! The compiler's messages for misused prompt-function attributes (`tests/ui/*.stderr`, exact).
//! Regenerate after a deliberate change with `TRYBUILD=overwrite` and review the diff.

#![cfg(feature = "macros")]

#[test]
fn misuses_are_compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/unknown_provider.rs");
    t.compile_fail("tests/ui/no_provider.rs");
    t.compile_fail("tests/ui/unknown_key.rs");
    t.compile_fail("tests/ui/duplicate_key.rs");
    t.compile_fail("tests/ui/template_variable_not_a_parameter.rs");
    t.compile_fail("tests/ui/template_syntax.rs");
    t.compile_fail("tests/ui/list_of_text.rs");
    t.compile_fail("tests/ui/unsupported_return_type.rs");
    t.compile_fail("tests/ui/body_not_a_prompt.rs");
    t.compile_fail("tests/ui/template_with_a_body.rs");
    t.compile_fail("tests/ui/method.rs");
    t.compile_fail("tests/ui/retry_unknown_key.rs");
    t.compile_fail("tests/ui/retry_unknown_kind.rs");
    t.compile_fail("tests/ui/retry_without_call.rs");
    t.compile_fail("tests/ui/fallback_unknown_key.rs");
    t.compile_fail("tests/ui/fallback_unknown_kind.rs");
    t.compile_fail("tests/ui/fallback_unknown_provider.rs");
    t.compile_fail("tests/ui/errors_wrong_type.rs");
    t.compile_fail("tests/ui/errors_without_retry.rs");
    t.compile_fail("tests/ui/errors_attr_wrong_type.rs");
    t.compile_fail("tests/ui/errors_twice.rs");
    t.compile_fail("tests/ui/tools_type_not_a_tool.rs");
    t.compile_fail("tests/ui/retry_twice.rs");
    t.compile_fail("tests/ui/fallback_twice.rs");
    t.compile_fail("tests/ui/wait_unknown.rs");
    t.compile_fail("tests/ui/wait_wrong_type.rs");
    t.pass("tests/ui/custom_provider.rs");
}
